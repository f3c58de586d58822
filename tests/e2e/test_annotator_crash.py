"""Crashes around the annotator, with real processes: an acknowledged stroke survives the
server dying by SIGKILL (before any autosave) and the browser dying by SIGKILL, and the
lease of a tab that died with its server keeps a new tab read-only until it expires."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from labelstack.services.annotations.leases import LEASE_SECONDS
from tests.e2e.conftest import CHROMIUM_ARGS, DEMO_LOGINS, LiveServer, free_port, login, screenshot
from tests.processes import stop, wait_until_answering
from tests.services import chromium_path

pytestmark = pytest.mark.browser

STROKE_ROW, STROKE_COLS = 100, (90, 130)  # axial image pixels (the demo CT's axial view is unflipped)
READ_ONLY = "is editing it in another tab or window"


# ---- a demo server whose process this test owns (to SIGKILL it and start it again)


class DemoProcess:
    """`labelstack demo` on a fixed data dir and port, restartable after a kill."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    @property
    def live(self) -> LiveServer:
        return LiveServer(self.url, self.data_dir, "sqlite")

    def start(self) -> None:
        # NiceGUI switches to its test mode when it sees pytest's variables: hide them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env["LABELSTACK_DATA_DIR"] = str(self.data_dir)
        log = (self.data_dir / "server.log").open("a")
        # `demo` seeds idempotently (services/demo/seed.py): a restart adds nothing, resets nothing.
        self.proc = subprocess.Popen([sys.executable, "-m", "labelstack", "demo", "--port", str(self.port)],
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until_answering(f"{self.url}/api/v1/health", self.proc, self.data_dir / "server.log",
                             name="server", timeout=120)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def log(self) -> str:
        return (self.data_dir / "server.log").read_text()


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[DemoProcess]:
    server = DemoProcess(tmp_path)
    yield server
    server.stop()


# ---- a Chromium this test owns (Playwright does not expose its own browser's process)


class OwnChromium:
    """Chromium started here with a DevTools port, in its own process group."""

    def __init__(self, browser: Browser) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="ls-chromium-")
        self.proc = subprocess.Popen(
            [chromium_path(), "--headless=new", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile.name}", *CHROMIUM_ARGS, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        # the session's Playwright (conftest's `browser`) drives this one too: one per thread
        self.browser = browser.browser_type.connect_over_cdp(f"http://127.0.0.1:{port}")

    def kill(self) -> None:
        """SIGKILL every process of this Chromium (browser, renderers, network service)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self.profile.cleanup()


@pytest.fixture
def own_chromium(browser: Browser) -> Iterator[Callable[[], OwnChromium]]:
    started: list[OwnChromium] = []

    def launch() -> OwnChromium:
        started.append(OwnChromium(browser))
        return started[-1]

    yield launch
    for chromium in started:
        chromium.close()


# ---- the REST API and the page


def _headers(server: LiveServer) -> dict[str, str]:
    email, password = DEMO_LOGINS["annotator"]
    r = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _start_lung_task(server: LiveServer) -> dict:
    headers = _headers(server)
    task = httpx.get(f"{server.url}/api/v1/tasks", params={"q": "outline the lungs"},
                     headers=headers).json()["items"][0]
    r = httpx.post(f"{server.url}/api/v1/tasks/{task['id']}/status", json={"status": "in_progress"},
                   headers=headers)
    assert r.status_code == 200, r.text
    annotations = httpx.get(f"{server.url}/api/v1/annotations", params={"task_id": task["id"]},
                            headers=headers).json()
    return {"task": task["id"], "annotation": annotations[0]["id"]}


def _mask(server: LiveServer, annotation: int, path: str = "mask") -> np.ndarray:
    r = httpx.get(f"{server.url}/api/v1/annotations/{annotation}/{path}", headers=_headers(server),
                  timeout=10)
    assert r.status_code == 200, r.text
    return np.load(io.BytesIO(r.content))


def _revisions(server: LiveServer, annotation: int) -> list[dict]:
    r = httpx.get(f"{server.url}/api/v1/annotations/{annotation}/revisions", headers=_headers(server))
    assert r.status_code == 200, r.text
    return r.json()


def _new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.set_default_navigation_timeout(30_000)
    return page


def _open_task(page: Page, server: LiveServer, task: int, *, sign_in: bool = True) -> None:
    if sign_in:
        login(page, server, "annotator")
    page.goto(f"{server.url}/task/{task}")
    _wait_editor(page)


def _wait_editor(page: Page) -> None:
    """Until the axial view shows its image (open_image has decided editable or read-only)."""
    expect(page.get_by_test_id("viewport-axial")).to_be_visible(timeout=30_000)
    page.wait_for_function(
        "() => { const el = document.querySelector('[data-testid=viewport-axial]');"
        " return el && el.__viewport && el.__viewport.frame }", timeout=30_000)


SLICE_INPUT = "input[data-testid=slice-index], [data-testid=slice-index] input"


def _slice(page: Page) -> int:
    return int(page.locator(SLICE_INPUT).first.input_value())


def _paint(page: Page, row: int = STROKE_ROW) -> int:
    """A brush stroke along `row` in the axial view; returns the slice index."""
    index = _slice(page)
    page.get_by_test_id("tool-brush").click()

    def at(row: float, col: float) -> tuple[float, float]:
        p = page.get_by_test_id("viewport-axial").evaluate(
            "(el, rc) => el.__viewport.imageToClient(rc[0], rc[1])", [row, col])
        return p["x"], p["y"]

    (x0, y0), (x1, y1) = at(row, STROKE_COLS[0]), at(row, STROKE_COLS[1])
    page.mouse.move(x0, y0)
    page.mouse.down()
    for t in np.linspace(0, 1, 12):
        page.mouse.move(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    page.mouse.up()
    return index


def _stroke_complete(mask: np.ndarray, index: int, row: int = STROKE_ROW) -> bool:
    """The whole stroke is in: its centre line and both end caps (batches are acknowledged
    in order, so the last cap present means every batch was)."""
    c0, c1 = STROKE_COLS
    return bool(mask[index, row, c0 - 2:c1 + 3].all())


def _check_stroke_shape(mask: np.ndarray, index: int, row: int = STROKE_ROW) -> None:
    z, rows, cols = np.nonzero(mask)
    assert set(z.tolist()) == {index}
    assert rows.min() >= row - 6 and rows.max() <= row + 6  # 3 mm at 0.8 mm pixels
    assert cols.min() >= STROKE_COLS[0] - 6 and cols.max() <= STROKE_COLS[1] + 6


def _wait_acknowledged(server: LiveServer, annotation: int, index: int, row: int = STROKE_ROW,
                       page: Page | None = None, timeout: float = 20) -> np.ndarray:
    """Poll the mask route (revision + database journal) until the whole stroke is there."""
    deadline = time.monotonic() + timeout
    while True:
        mask = _mask(server, annotation)
        if _stroke_complete(mask, index, row):
            return mask
        if time.monotonic() >= deadline:
            said = page.locator(".q-notification").all_inner_texts() if page is not None else "?"
            shown = page.get_by_test_id("read-only").inner_text() if page is not None else "?"
            z, rows, _ = np.nonzero(mask)
            raise AssertionError(
                f"stroke along row {row} not acknowledged: mask has {int(mask.sum())} voxels "
                f"(slices {sorted(set(z.tolist()))}, rows {sorted(set(rows.tolist()))}); "
                f"notifications {said}; read-only notice {shown!r}")
        time.sleep(0.03)


def _overlay(page: Page, annotation: int) -> np.ndarray:
    """The label's overlay canvas in the axial view as a (rows, cols) bool array."""
    found = page.get_by_test_id("viewport-axial").evaluate(
        """(el, id) => {
             const states = [...document.querySelectorAll('[data-testid=save-state]')];
             const k = states.findIndex((s) => s.dataset.annotation === String(id));
             const group = el.querySelectorAll('.ls-stage > div.ls-layer')[k];
             const canvas = group.querySelector('canvas');
             const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
             const on = [];
             for (let i = 3; i < px.length; i += 4) if (px[i] > 0) on.push((i - 3) / 4);
             return { w: canvas.width, h: canvas.height, on };
           }""", annotation)
    out = np.zeros(found["h"] * found["w"], bool)
    out[found["on"]] = True
    return out.reshape(found["h"], found["w"])


def _wait_overlay(page: Page, annotation: int, expected: np.ndarray, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        shown = _overlay(page, annotation)
        if shown.shape == expected.shape and np.array_equal(shown, expected):
            return
        assert time.monotonic() < deadline, (
            f"overlay shows {int(shown.sum())} pixels, the mask's slice {int(expected.sum())}")
        time.sleep(0.1)


def _save_state(page: Page, annotation: int) -> Locator:
    return page.locator(f"[data-testid=save-state][data-annotation='{annotation}']")


def _wait_editable(page: Page, deadline: float) -> float:
    """Until the read-only tab turns editable by itself (it looks again every few seconds
    while another tab holds the lease), by `deadline` (time.monotonic); returns when."""
    timeout = max(deadline - time.monotonic(), 1.0) * 1000
    expect(page.get_by_test_id("read-only")).to_be_hidden(timeout=timeout)
    editable_at = time.monotonic()
    expect(page.get_by_test_id("tool-brush")).to_be_enabled()
    return editable_at


def _check_saved_revision(server: LiveServer, annotation: int, stroke: np.ndarray) -> None:
    found = _revisions(server, annotation)
    assert len(found) == 1, found
    saved = _mask(server, annotation, f"revisions/{found[0]['sequence']}/mask")
    assert np.array_equal(saved, stroke)
    assert np.array_equal(_mask(server, annotation), stroke)  # journal folded, nothing lost or added


# ---- the crashes


def test_stroke_survives_server_sigkill_before_any_save(demo_process: DemoProcess,
                                                        browser: Browser) -> None:
    demo_process.start()
    server = demo_process.live
    lung = _start_lung_task(server)
    first = browser.new_context(viewport={"width": 1400, "height": 900})
    page = _new_page(first)
    _open_task(page, server, lung["task"])
    index = _paint(page)
    stroke = _wait_acknowledged(server, lung["annotation"], index, page=page)
    demo_process.kill()  # at once: the idle autosave comes 3 s after the last acknowledgement
    killed_at = time.monotonic()
    first.close()  # the dead server's tab must not reconnect to the new one
    _check_stroke_shape(stroke, index)

    demo_process.start()  # same data dir, same port
    assert _revisions(server, lung["annotation"]) == []  # the kill came before any save
    assert np.array_equal(_mask(server, lung["annotation"]), stroke)  # replayed from the journal

    # The killed server's tab still holds the lease (nobody released it): a new tab is read-only.
    second = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = _new_page(second)
        _open_task(page, server, lung["task"])
        expect(page.get_by_test_id("read-only")).to_contain_text(READ_ONLY)
        expect(page.get_by_test_id("tool-brush")).to_be_disabled()
        expect(_save_state(page, lung["annotation"])).to_have_attribute("data-state", "unsaved")
        _wait_overlay(page, lung["annotation"], stroke[index])
        screenshot(page, "annotator-crash-server-read-only")
        assert _revisions(server, lung["annotation"]) == []  # a read-only tab saves nothing

        # Once the lease has lapsed the same tab turns editable (no reload) and saves the
        # replayed journal; not before: the lease ran from the last write, just before the kill.
        editable_at = _wait_editable(page, killed_at + LEASE_SECONDS + 15)
        assert editable_at >= killed_at + LEASE_SECONDS - 3, editable_at - killed_at
        _wait_overlay(page, lung["annotation"], stroke[index])
        expect(_save_state(page, lung["annotation"])).to_have_attribute("data-state", "saved",
                                                                        timeout=20_000)
        _check_saved_revision(server, lung["annotation"], stroke)
    finally:
        second.close()


def test_stroke_survives_browser_sigkill(start_server, browser: Browser,  # noqa: ANN001
                                         own_chromium: Callable[[], OwnChromium]) -> None:
    server: LiveServer = start_server()
    lung = _start_lung_task(server)
    chromium = own_chromium()
    page = _new_page(chromium.browser.new_context(viewport={"width": 1400, "height": 900}))
    _open_task(page, server, lung["task"])
    index = _paint(page)
    stroke = _wait_acknowledged(server, lung["annotation"], index, page=page)
    chromium.kill()
    killed_at = time.monotonic()
    _check_stroke_shape(stroke, index)
    assert np.array_equal(_mask(server, lung["annotation"]), stroke)

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = _new_page(context)
        _open_task(page, server, lung["task"])
        _wait_overlay(page, lung["annotation"], stroke[index])
        # The server sees the dead tab's socket close and its disconnect handler saves and
        # releases the lease, so today the new tab opens editable at once. Should the dead
        # tab's lease still be live, the tab is read-only with the reason until it expires.
        notice = page.get_by_test_id("read-only")
        if notice.is_visible():
            expect(notice).to_contain_text(READ_ONLY)
            _wait_editable(page, killed_at + LEASE_SECONDS + 15)
            _wait_overlay(page, lung["annotation"], stroke[index])
        expect(_save_state(page, lung["annotation"])).to_have_attribute("data-state", "saved",
                                                                        timeout=20_000)
        _check_saved_revision(server, lung["annotation"], stroke)

        # The new tab holds the lease now: its own stroke is acknowledged next to the old one.
        _paint(page, row=150)
        both = _wait_acknowledged(server, lung["annotation"], index, row=150, page=page)
        assert np.array_equal(both[:, :125], stroke[:, :125])  # the first stroke is untouched
        second = both.copy()
        second[:, :125] = False
        _check_stroke_shape(second, index, row=150)
        screenshot(page, "annotator-crash-browser-reopened")
    finally:
        context.close()
