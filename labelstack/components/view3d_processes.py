"""The 3D view processes (`python -m labelstack.view3d`): started on demand, at most
`max_3d_views` at once, each owned by one user on one series, stopped when its panel goes away
or when no browser has been connected to it for `view3d_idle_seconds`.

Talking to a process never blocks the event loop: commands are written to its stdin, events
read from its stdout by a task of the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelstack.services.images import runtime
from labelstack.view3d import protocol
from labelstack.view3d.spec import ViewSpec

log = logging.getLogger(__name__)

START_SECONDS = 60.0  # a first start imports VTK and trame: seconds on a busy machine
REAP_EVERY_SECONDS = 1.0
FIRST_CONNECTION_SECONDS = 60.0  # a view nobody connected to yet waits at least this long


class ViewsExhausted(RuntimeError):
    """Every 3D view slot is taken; the message says so and what to do."""


@dataclass(kw_only=True, eq=False)
class ViewProcess:
    view_id: str
    user_id: int
    series_uid: str
    port: int
    directory: Path
    process: asyncio.subprocess.Process
    on_event: Callable[[dict[str, Any]], Any] | None = None
    connections: int = 0
    ever_connected: bool = False
    idle_since: float = field(default_factory=time.monotonic)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def send(self, kind: str, **fields: Any) -> None:
        """A command for the child (dropped if it has gone)."""
        stdin = self.process.stdin
        if self.running and stdin is not None and not stdin.is_closing():
            stdin.write(protocol.encode(kind, **fields))

    def connected(self) -> None:
        self.connections += 1
        self.ever_connected = True

    def idle_for(self, idle_seconds: float, now: float) -> bool:
        """Nobody connected for the idle time (for a first connection: a longer one)."""
        wait = idle_seconds if self.ever_connected else max(idle_seconds, FIRST_CONNECTION_SECONDS)
        return self.connections == 0 and now - self.idle_since > wait

    def disconnected(self) -> None:
        self.connections -= 1
        if self.connections <= 0:
            self.connections, self.idle_since = 0, time.monotonic()


class Views:
    """Every 3D view process of this server."""

    def __init__(self) -> None:
        self.views: dict[str, ViewProcess] = {}
        self._reaper: asyncio.Task | None = None

    @property
    def limit(self) -> int:
        return runtime.current_settings().max_3d_views

    def get(self, view_id: str) -> ViewProcess | None:
        view = self.views.get(view_id)
        return view if view is not None and view.running else None

    async def start(self, spec: ViewSpec, *, user_id: int, series_uid: str,
                    on_event: Callable[[dict[str, Any]], Any] | None = None) -> ViewProcess:
        """Start a view process on `spec` (its port is chosen here) and wait until it listens.
        Raises ViewsExhausted when `max_3d_views` are running, RuntimeError when it fails."""
        self._forget_ended()
        if len(self.views) >= self.limit:
            raise ViewsExhausted(
                f"Every 3D view this server allows is in use (LABELSTACK_MAX_3D_VIEWS={self.limit}): "
                "close a 3D view in another tab, or try again in a minute.")
        view_id = secrets.token_urlsafe(12)
        directory = Path(spec.labels_dir)
        spec.port = _free_port()
        spec.write(directory / "spec.json")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "labelstack.view3d", str(directory / "spec.json"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=(directory / "view3d.log").open("wb"))
        view = ViewProcess(view_id=view_id, user_id=user_id, series_uid=series_uid, port=spec.port,
                           directory=directory, process=process, on_event=on_event)
        self.views[view_id] = view
        asyncio.create_task(self._read_events(view))
        self._ensure_reaper()
        try:
            await asyncio.wait_for(view.ready.wait(), START_SECONDS)
        except TimeoutError:
            await self.stop(view_id)
            raise RuntimeError("the 3D view did not start in time") from None
        if not view.running:
            reason = _tail(directory / "view3d.log")
            await self.stop(view_id)
            raise RuntimeError(f"the 3D view stopped while starting: {reason}")
        return view

    async def stop(self, view_id: str) -> None:
        """Stop the process (asked first, then terminated) and delete its files."""
        view = self.views.pop(view_id, None)
        if view is None:
            return
        if view.running:
            view.send(protocol.STOP)
            try:
                await asyncio.wait_for(view.process.wait(), 3.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    view.process.kill()
                await view.process.wait()
        shutil.rmtree(view.directory, ignore_errors=True)

    async def stop_all(self) -> None:
        for view_id in list(self.views):
            await self.stop(view_id)

    async def _read_events(self, view: ViewProcess) -> None:
        stdout = view.process.stdout
        assert stdout is not None
        while line := await stdout.readline():
            message = protocol.decode(line)
            if message is None:
                continue
            if message["type"] == protocol.READY:
                view.idle_since = time.monotonic()
                view.ready.set()
            elif view.on_event is not None:
                try:
                    result = view.on_event(message)
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:  # a broken handler must not stop the events of the view
                    log.exception("3D view event %s", message)
        await view.process.wait()
        view.ready.set()  # a start waiting for it sees it ended

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap())

    async def _reap(self) -> None:
        """Stop views nobody has been connected to for the idle time."""
        while self.views:
            await asyncio.sleep(REAP_EVERY_SECONDS)
            idle = runtime.current_settings().view3d_idle_seconds
            now = time.monotonic()
            for view_id, view in list(self.views.items()):
                if not view.running or view.idle_for(idle, now):
                    await self.stop(view_id)

    def _forget_ended(self) -> None:
        for view_id, view in list(self.views.items()):
            if not view.running:
                self.views.pop(view_id, None)
                shutil.rmtree(view.directory, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " ".join(path.read_text(errors="replace").strip().splitlines()[-lines:]) or "no output"
    except OSError:
        return "no output"


VIEWS = Views()
