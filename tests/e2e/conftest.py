"""A real LabelStack server (the `labelstack demo` command in a subprocess) and real Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.processes import stop, wait_until_answering
from tests.services import chromium_path, postgres_database

# Generous waits: CI shares two cores between the server, the browser and the other worker.
expect.set_options(timeout=15_000)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]
DEMO_LOGINS = {
    "admin": ("admin@demo.labelstack.org", "demo-admin"),
    "annotator": ("annotator@demo.labelstack.org", "demo-annotator"),
    "reviewer": ("reviewer@demo.labelstack.org", "demo-reviewer"),
}


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str
    data_dir: Path
    database_url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory):
    """Start `labelstack demo` on a free loopback port; stopped at the end of the session."""
    procs: list[subprocess.Popen] = []

    def start(database_url: str | None = None) -> LiveServer:
        data_dir = tmp_path_factory.mktemp("live")
        port = free_port()
        # NiceGUI switches to its test mode when it sees pytest's variables: hide them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env["LABELSTACK_DATA_DIR"] = str(data_dir)
        if database_url:
            env["LABELSTACK_DATABASE_URL"] = database_url
        log = (data_dir / "server.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "labelstack", "demo", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{url}/api/v1/health", proc, data_dir / "server.log",
                             name="server", timeout=120, interval=0.3)
        return LiveServer(url, data_dir, database_url or "sqlite")

    yield start
    for proc in procs:
        stop(proc)


@pytest.fixture(scope="session")
def live_server(start_server) -> LiveServer:
    """The demo on the embedded defaults (SQLite, local store)."""
    return start_server()


@pytest.fixture(scope="session")
def live_server_pg(start_server) -> Iterator[LiveServer]:
    """The demo on a fresh PostgreSQL database."""
    with postgres_database() as url:
        yield start_server(url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    p = context.new_page()
    p.set_default_timeout(30_000)
    p.set_default_navigation_timeout(30_000)
    yield p
    context.close()


def login(page: Page, server: LiveServer, role: str) -> None:
    sign_in(page, server, *DEMO_LOGINS[role])


def sign_in(page: Page, server: LiveServer, email: str, password: str, redirect_to: str = "") -> None:
    """Through the login page, on to `redirect_to` (else the user's home page)."""
    page.goto(f"{server.url}/login" + (f"?redirect_to={redirect_to}" if redirect_to else ""))
    # Before NiceGUI's socket handshake each typed value and the click wait on a retry timer
    # of their own, so they may arrive out of order (a CI run once stayed on /login after the
    # click): type once the handshake is done.
    page.wait_for_function("() => window.did_handshake === true")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("page-title").wait_for()


@contextmanager
def api_client(server: LiveServer, role: str = "admin") -> Iterator[httpx.Client]:
    """The REST API as the demo user of `role`."""
    email, password = DEMO_LOGINS[role]
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as client:
        reply = client.post("/auth/token", data={"username": email, "password": password})
        reply.raise_for_status()
        client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
        yield client


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
