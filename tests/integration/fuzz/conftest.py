"""The fuzzers' fixtures: a real server (the `labelstack demo` process of the e2e tests, with its
seeded users, images, labels and tasks) on each kind of database, bearer tokens per role, and
`report` for the tables printed at the end of the run (`report.py`)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import DB_KINDS
from tests.e2e.conftest import DEMO_LOGINS, LiveServer, start_server
from tests.integration.fuzz.report import REPORT_KEY
from tests.services import postgres_database

__all__ = ["start_server"]


@pytest.fixture(scope="module", params=DB_KINDS)
def server(request: pytest.FixtureRequest, start_server: Callable[..., LiveServer]) -> Iterator[LiveServer]:
    """A server of this module's own on each kind of database: one fuzzer's writes never meet
    the other's. It is stopped after the module (not at the end of the session, as the e2e
    servers are), so the fuzzers leave no idle servers holding memory."""
    if request.param == "sqlite":
        live = start_server()
        yield live
        _stop(live)
        return
    with postgres_database() as url:
        live = start_server(url)
        yield live
        _stop(live)  # before its database is dropped


def _stop(server: LiveServer) -> None:
    """SIGTERM to the server process; `start_server` reaps it at the end of the session."""
    os.kill(server_pid(server), signal.SIGTERM)


def db_kind(server: LiveServer) -> str:
    return "sqlite" if server.database_url == "sqlite" else "postgresql"


def bearer(server: LiveServer, role: str) -> dict[str, str]:
    """Headers authenticating as the demo user of `role` (from the token endpoint)."""
    email, password = DEMO_LOGINS[role]
    r = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": email, "password": password},
                   timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def server_pid(server: LiveServer) -> int:
    """The process listening for `server` (found by the port on its command line)."""
    port = server.url.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"demo" in args and port.encode() in args:
            return int(cmdline.parent.name)
    raise LookupError(f"no server process on port {port}")


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Hand a table to the end-of-run summary."""

    def add(table: str) -> None:
        request.node.user_properties.append((REPORT_KEY, table))

    return add
