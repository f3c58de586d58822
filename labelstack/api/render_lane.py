"""A fast lane for `GET /api/v1/series/{uid}/render`, in front of every middleware and of
FastAPI's routing: a viewer scrolling a series asks for many frames a second, and the web
stack cost several times the 0.6 ms the slice itself takes.

The lane serves only a request whose every parameter is plainly valid and which carries a
bearer token; anything else (a bad or repeated parameter, no token, a body, an unexpected
failure) goes down the normal stack to the declared route, which gives the usual answer and
keeps the OpenAPI schema. Both call `series.render_frame`, so the user, the view rule and the
pixels are the same.

A frame whose user, view decision, index entry and volume are all held in memory
(`series.render_known_frame`) is rendered right here on the event loop (≈ 0.6 ms of CPU):
the worker-thread hop and the session cost more than that. Anything that might read the
database, the disk or a store still goes to a worker thread.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qsl

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from labelstack.api.error_response import service_error_response
from labelstack.api.series import MEDIA, render_frame, render_known_frame
from labelstack.imaging.mpr import Plane
from labelstack.services.errors import ServiceError

PLANES = {p.value: p for p in Plane}
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
DIGITS = re.compile(r"\d{1,9}")
T = TypeVar("T")
Frame = tuple[str, Plane, int | None, float | None, float | None, bool, int | None, str]


class RenderLane:
    """Pure ASGI: answers the frames it can, hands every other request to `app` untouched."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.head, self.tail = f"{prefix}/series/", "/render"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = self._frame(scope) if scope["type"] == "http" else None
        if request is None:
            await self.app(scope, receive, send)
            return
        token, frame = request
        try:
            data = render_known_frame(token, *frame)
            if data is None:
                data = await to_thread.run_sync(render_frame, token, *frame)
        except ServiceError as exc:
            await service_error_response(exc)(scope, receive, send)
            return
        except Exception:  # noqa: BLE001 - the normal stack reports it as it always does
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", MEDIA[frame[-1]].encode()), (b"content-length", str(len(data)).encode()),
            (b"cache-control", b"no-cache")]})
        await send({"type": "http.response.body", "body": data})

    def _frame(self, scope: Scope) -> tuple[str, Frame] | None:
        """The token and the render arguments, or None when the normal stack should answer."""
        path: str = scope["path"]
        if scope["method"] != "GET" or not path.startswith(self.head) or not path.endswith(self.tail):
            return None
        series_uid = path[len(self.head):-len(self.tail)]
        if not series_uid or "/" in series_uid:
            return None
        token = None
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                return None
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return None
        if token is None:
            return None
        query = frame_query(scope["query_string"])
        if query is None:
            return None
        return token, (series_uid, *query)


def frame_query(raw: bytes) -> tuple[Plane, int | None, float | None, float | None, bool, int | None,
                                str] | None:
    """The query as the route's parameters, or None for anything not plainly valid."""
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, strict_parsing=bool(raw))
    except ValueError:
        return None
    values = dict(pairs)
    if len(values) != len(pairs):
        return None
    try:
        plane = PLANES[values.get("plane", "axial")]
        index = _optional(values.get("index"), _count)
        ww = _optional(values.get("ww"), _number)
        wl = _optional(values.get("wl"), _number)
        invert = {"0": False, "1": True}[values.get("invert", "0")]
        table = _optional(values.get("table"), _count)
        fmt = values.get("format", "png")
        if fmt not in MEDIA or (ww is not None and ww <= 0):
            return None
    except (KeyError, ValueError):
        return None
    return plane, index, wl, ww, invert, table, fmt


def _optional(value: str | None, parse: Callable[[str], T]) -> T | None:
    return None if value is None else parse(value)


def _count(value: str) -> int:
    if not DIGITS.fullmatch(value):
        raise ValueError(value)
    return int(value)


def _number(value: str) -> float:
    number = float(value) if NUMBER.fullmatch(value) else math.nan
    if not math.isfinite(number):
        raise ValueError(value)
    return number
