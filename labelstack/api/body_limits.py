"""Every request body bounded by its route, before anything reads it (authentication too)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelstack.services.errors import TooLarge

Check = Callable[[int], None]  # raises TooLarge when this many bytes are too many for the route


class BodyLimits:
    """Pure ASGI middleware: a declared Content-Length over the route's limit is answered
    413 at once, without reading the body; a body without one (chunked) is counted as it
    arrives and answered 413 as soon as it passes the limit. The route then sees the client
    gone (`http.disconnect`), and whatever it answers is dropped.

    `routes` are (method, path pattern with `{name}` for one segment, check); any other
    request gets `default`.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[tuple[str, str, Check]],
                 default: Check) -> None:
        self.app = app
        self.routes = [(method, _pattern(path), check) for method, path, check in routes]
        self.default = default

    def check_for(self, method: str, path: str) -> Check:
        return next((check for m, pattern, check in self.routes
                     if m == method and pattern.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        check = self.check_for(scope["method"], scope["path"])
        declared = next((value for name, value in scope["headers"] if name == b"content-length"),
                        b"")
        try:
            if declared.isdigit():
                check(int(declared))
        except TooLarge as exc:
            await _refuse(send, exc)
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                try:
                    check(received)
                except TooLarge as exc:
                    refused = True
                    if not started:
                        await _refuse(send, exc)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if not refused:
                started = True
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except ClientDisconnect:
            if not refused:
                raise


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)))


async def _refuse(send: Send, exc: TooLarge) -> None:
    body = json.dumps({"detail": exc.detail, **exc.extra}).encode()
    await send({"type": "http.response.start", "status": exc.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
