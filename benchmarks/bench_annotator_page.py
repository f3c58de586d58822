"""Pointer-to-confirmed-overlay latency on the real annotator page vs the viewport-only harness.

Ours: ``labelstack demo`` in a subprocess (as ``tests/e2e/conftest.py`` starts it: its own data
dir, SQLite by default, ``--postgres`` adds a run on a fresh database of the local server), the
demo annotator logged in, the lung task started over the API and ``/task/{id}`` opened in
headless Chromium. Every stroke batch goes through ``EditSession.apply``: the mask edit, the
journal write committed under the lease, then the overlay patch.
Baseline: ``tests/e2e/viewport_app.py``, the same ``SliceViewport`` whose server paints a numpy
mask without the database, on a slice of the page's size with the page's brush radius in pixels.

Both are measured as ``benchmarks/bench_viewport_latency.py`` measures the viewport: Playwright
holds the left button and moves at 60 Hz along a serpentine whose points are farther apart than
the brush is wide; a capture-phase ``pointermove`` listener timestamps each move, and a move is
confirmed by the first ``overlaypatch`` event after which its pixel is set in the label's overlay
canvas (the server's answer, not the local stroke preview). Server CPU is the server process's
user + system time per move.
Run: ``python -m benchmarks.bench_annotator_page [--moves 220] [--warmup 20] [--postgres]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from benchmarks import print_table
from benchmarks.bench_viewport_latency import OURS, PROBE, RATE_HZ, percentile, serpentine
from labelstack.services.demo.images import DEMO_CT_SHAPE, DEMO_CT_SPACING
from tests.e2e.conftest import CHROMIUM_ARGS, DEMO_LOGINS, LiveServer, free_port, login
from tests.e2e.viewport_app import running
from tests.processes import stop, wait_until_answering
from tests.services import chromium_path, postgres_database

RADIUS_MM = 3.0  # the annotator's default brush
SIZE = DEMO_CT_SHAPE[1]  # the demo CT's axial slice is SIZE x SIZE
RADIUS_PX = RADIUS_MM / DEMO_CT_SPACING[2]
VIEWPORT = "[data-testid=viewport-axial]"


@contextlib.contextmanager
def demo_server(root: Path, database_url: str | None) -> Iterator[tuple[LiveServer, int]]:
    """``labelstack demo`` on a free port, as the e2e fixture starts it; yields it and its pid."""
    data_dir = root / f"live-{'pg' if database_url else 'sqlite'}"
    data_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["LABELSTACK_DATA_DIR"] = str(data_dir)
    if database_url:
        env["LABELSTACK_DATABASE_URL"] = database_url
    with (data_dir / "server.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "labelstack", "demo", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/v1/health", proc, data_dir / "server.log",
                             name="server", timeout=120, interval=0.3)
        yield LiveServer(url, data_dir, database_url or "sqlite"), proc.pid
    finally:
        stop(proc)


def start_lung_task(server: LiveServer) -> int:
    """The demo annotator's lung task, started (as ``tests/e2e/test_annotator.py`` does)."""
    email, password = DEMO_LOGINS["annotator"]
    token = httpx.post(f"{server.url}/api/v1/auth/token",
                       data={"username": email, "password": password}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    task = httpx.get(f"{server.url}/api/v1/tasks", params={"q": "outline the lungs"},
                     headers=headers).json()["items"][0]
    r = httpx.post(f"{server.url}/api/v1/tasks/{task['id']}/status", json={"status": "in_progress"},
                   headers=headers)
    r.raise_for_status()
    return int(task["id"])


def process_cpu(pid: int) -> float:
    """User + system seconds of a process (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(page: Page, url: str, count: int, cpu: Callable[[], float]) -> dict:
    page.goto(url)
    try:
        page.wait_for_function(f"() => {{ const el = document.querySelector('{VIEWPORT}');"
                               " return el && el.__viewport && el.__viewport.frame }", timeout=60_000)
    except Exception:
        shot = Path(tempfile.gettempdir()) / "bench-annotator-page-failed.png"
        page.screenshot(path=str(shot))
        print(f"the viewport never showed its image at {url}; screenshot: {shot}", file=sys.stderr)
        raise
    page.wait_for_timeout(800)  # the first frame decoded, the overlays sent, the component settled
    overlays = page.evaluate(f"() => document.querySelectorAll('{VIEWPORT} canvas.ls-pixels').length")
    assert overlays == 3, f"expected one label (overlay + preview + erase canvases), got {overlays}"
    page.evaluate(f"() => ({PROBE})(({OURS})())")
    hook = f"document.querySelector('{VIEWPORT}').__viewport"
    origin = page.evaluate(f"() => {hook}.imageToClient(-0.5, -0.5)")
    scale = page.evaluate(f"() => {hook}.scale")
    # points farther apart than the brush is wide, so every move paints a new pixel
    points = serpentine(count + 1, step=9, row_step=11, margin=24, size=SIZE)

    def at(row: float, col: float) -> tuple[float, float]:
        return origin["x"] + (col + 0.5) * scale, origin["y"] + (row + 0.5) * scale

    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    page.wait_for_timeout(300)
    cpu0 = cpu()
    t = time.perf_counter()
    for row, col in points[1:]:
        page.mouse.move(*at(row, col))
        t += 1 / RATE_HZ
        time.sleep(max(0.0, t - time.perf_counter()))
    page.wait_for_timeout(1500)  # late confirmations
    cpu1 = cpu()
    page.mouse.up()
    moves = page.evaluate("() => window.__lat.moves.map((m) => m.done === null ? null : m.done - m.t)")
    return {"latencies": moves, "cpu_ms": (cpu1 - cpu0) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=220)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="also the page on PostgreSQL")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-annotator-page-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)

        def run(name: str, url: str, cpu: Callable[[], float], before: Callable[[Page], None]) -> None:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            before(page)
            result = measure(page, url, args.moves, cpu)
            context.close()
            latencies = result["latencies"][args.warmup:]
            confirmed = [v for v in latencies if v is not None]
            rows.append([name, f"{len(confirmed)}/{len(latencies)}", percentile(confirmed, 50),
                         percentile(confirmed, 95), max(confirmed),
                         result["cpu_ms"] / len(result["latencies"])])

        with running() as harness:
            run("viewport harness, numpy mask, no database (baseline)",
                f"{harness}/?tool=brush&radius={RADIUS_PX:g}&w={SIZE}&h={SIZE}",
                lambda: httpx.get(f"{harness}/cpu").json()["seconds"], lambda page: None)
        databases: list[tuple[str, contextlib.AbstractContextManager[str | None]]] = [
            ("SQLite", contextlib.nullcontext(None))]
        if args.postgres:
            databases.append(("PostgreSQL", postgres_database()))
        for db_name, database in databases:
            with database as db_url, demo_server(Path(tmp), db_url) as (server, pid):
                task = start_lung_task(server)
                run(f"/task/{{id}} page, EditSession + journal on {db_name}", f"{server.url}/task/{task}",
                    lambda pid=pid: process_cpu(pid),
                    lambda page, server=server: login(page, server, "annotator"))
        browser.close()
    print(f"\n{SIZE}x{SIZE} axial slice of the demo CT, brush {RADIUS_MM:g} mm = {RADIUS_PX:g} px, pointer "
          f"moves at {RATE_HZ} Hz, {args.moves} moves ({args.warmup} warm-up not counted)\n")
    print_table(["viewer", "confirmed", "p50 ms", "p95 ms", "max ms", "server CPU ms/move"], rows)


if __name__ == "__main__":
    main()
