"""/view3d/{view_id}/...: a 3D view process's HTTP and websocket traffic through the app's own
port, for the signed-in user who opened that view and may still view its series.

The process listens on loopback only; without a session this answers 401, and a view of
someone else is 404 (as if it did not exist).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx
import websockets
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from nicegui import app, run
from websockets.asyncio.client import connect

from labelstack.components.session import SESSION_KEY, browser_user
from labelstack.components.view3d_processes import VIEWS, ViewProcess
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.accounts import users
from labelstack.services.errors import ServiceError
from labelstack.services.images import runtime
from labelstack.services.images.access import require_series_reader

PREFIX = "/view3d"
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
               "host", "upgrade", "te", "trailer", "proxy-authorization", "proxy-authenticate"}
LAG_PROBE_SECONDS = 0.02


def install(fastapi_app: FastAPI) -> None:
    fastapi_app.add_api_route(PREFIX + "/{view_id}/{path:path}", proxy_http, include_in_schema=False,
                              methods=["GET", "POST", "HEAD"])
    fastapi_app.add_api_websocket_route(PREFIX + "/{view_id}/ws", proxy_ws)
    app.on_shutdown(VIEWS.stop_all)
    if runtime.current_settings().view3d_lag_probe:
        fastapi_app.add_api_route("/view3d-lag", lag_report, include_in_schema=False)
        app.on_startup(LAG.run)


async def proxy_http(view_id: str, path: str, request: Request) -> Response:
    user = browser_user()
    if user is None:
        return Response("sign in first", status_code=401)
    view = await _allowed(view_id, user)
    if view is None:
        return Response("no such 3D view", status_code=404)
    view.idle_since = time.monotonic()
    url = f"http://127.0.0.1:{view.port}/{path}"
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | {"cookie"}}
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            answer = await client.request(request.method, url, params=request.query_params,
                                          headers=headers, content=await request.body())
        except httpx.HTTPError as exc:
            return Response(f"the 3D view does not answer: {exc}", status_code=502)
    kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
    return Response(answer.content, status_code=answer.status_code, headers=kept)


async def proxy_ws(websocket: WebSocket, view_id: str) -> None:
    user = await run.io_bound(_user_of_socket, websocket)
    view = await _allowed(view_id, user) if user is not None else None
    if view is None:
        await websocket.close(code=4401 if user is None else 4404)
        return
    await websocket.accept()
    view.connected()
    try:
        async with connect(f"ws://127.0.0.1:{view.port}/ws", max_size=None,
                           open_timeout=10) as upstream:
            await _pipe(websocket, upstream)
    except (OSError, websockets.WebSocketException):
        pass
    finally:
        view.disconnected()
        with contextlib.suppress(RuntimeError):
            await websocket.close()


async def _pipe(browser: WebSocket, upstream: Any) -> None:
    """Both directions until either side closes."""

    async def down() -> None:
        async for message in upstream:
            if isinstance(message, bytes):
                await browser.send_bytes(message)
            else:
                await browser.send_text(message)

    async def up() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await browser.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    await upstream.send(message["bytes"])
                elif message.get("text") is not None:
                    await upstream.send(message["text"])

    tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def _allowed(view_id: str, user: User) -> ViewProcess | None:
    """The view, if it is this user's and they may still view its series."""
    view = VIEWS.get(view_id)
    if view is None or view.user_id != user.id:
        return None
    try:
        await run.io_bound(_check_reader, user, view.series_uid)
    except ServiceError:
        return None
    return view


def _check_reader(user: User, series_uid: str) -> None:
    with session_scope() as session:
        require_series_reader(session, actor=user, series_uid=series_uid)


def _user_of_socket(websocket: WebSocket) -> User | None:
    """The signed-in user of a websocket: NiceGUI's user storage of the browser's session id
    (its request context, which `browser_user` reads, is HTTP only)."""
    session_id = websocket.scope.get("session", {}).get("id")
    storage = app.storage._users.get(session_id) if session_id else None  # noqa: SLF001
    user_id = storage.get(SESSION_KEY) if storage is not None else None
    if user_id is None:
        return None
    with session_scope() as session:
        return users.active_user(session, user_id)


class LagMonitor:
    """The event loop's worst lag since the last report: a task that sleeps a little and
    measures how late it wakes (test hook behind `view3d_lag_probe`)."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        asyncio.create_task(self._probe())

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.worst = max(self.worst, loop.time() - before - LAG_PROBE_SECONDS)


LAG = LagMonitor()


async def lag_report(reset: bool = False) -> JSONResponse:
    worst = LAG.worst
    if reset:
        LAG.worst = 0.0
    return JSONResponse({"worst_ms": round(worst * 1000, 1)})
