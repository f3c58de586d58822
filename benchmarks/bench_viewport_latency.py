"""Pointer-to-confirmed-overlay latency: the slice viewport vs ``ui.interactive_image``.

Harness: ``tests/e2e/viewport_app.py`` in a subprocess and real Chromium (headless, loopback).
A 512×512 slice, brush radius 4 px. Playwright holds the left button and moves the mouse at
60 Hz along a serpentine path whose points are 12 px apart, so a move's own pixel is painted
only once the server has applied that move. In the page, a capture-phase ``pointermove``
listener timestamps every move (``performance.now()``); a move is confirmed at

- ours: the first viewport ``overlaypatch`` event (the bit patch painted into the label canvas)
  after which the move's pixel is set in the overlay canvas;
- baseline: the first ``load`` of the ``<img>`` after which the loaded frame shows the overlay
  colour at the move's pixel. The server paints the same capsule, composites base + overlay,
  encodes a JPEG (q90) and calls ``set_source`` on every mouse event, either as a data URL (the
  whole frame in the socket message) or as a new URL of a GET route (``via=route``).

Server CPU is the app process's ``process_time`` across the run, per pointer move; bytes to the
browser are the socket.io frames it received (plus the frame responses with ``via=route``).
Run: ``python -m benchmarks.bench_viewport_latency [--moves 220] [--warmup 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from playwright.sync_api import Page, sync_playwright

from benchmarks import print_table
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.viewport_app import running
from tests.services import chromium_path

SIZE = 512
RADIUS = 4
RATE_HZ = 60

# Installed before the drag. `image(x, y)` maps client coordinates to image pixels; `confirmed()`
# tells whether the overlay is visible at a move's pixel. Both are set per variant below.
PROBE = """(setup) => {
  const moves = [];
  window.__lat = { moves };
  document.addEventListener('pointermove', (e) => {
    if (!(e.buttons & 1)) return;
    const q = setup.image(e.clientX, e.clientY);
    moves.push({ t: performance.now(), row: Math.round(q.row), col: Math.round(q.col), done: null });
  }, { capture: true });
  const check = (t, pixel) => {
    for (const m of moves) if (m.done === null && pixel(m.row, m.col)) m.done = t;
  };
  setup.listen(check);
}"""

OURS = """() => {
  const el = document.querySelector('[data-testid=viewport-axial]');
  const canvas = el.querySelector('canvas.ls-pixels');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return {
    image: (x, y) => el.__viewport.clientToImage(x, y),
    listen: (check) => el.addEventListener('overlaypatch', (e) =>
      check(e.detail.t, (r, c) => ctx.getImageData(c, r, 1, 1).data[3] === 255)),
  };
}"""

BASELINE = """() => {
  const SIZE = {SIZE};
  const img = document.querySelector('[data-testid=baseline] img');
  const scratch = document.createElement('canvas');
  const ctx = scratch.getContext('2d', { willReadFrequently: true });
  return {
    image: (x, y) => {
      const r = img.getBoundingClientRect();
      // not naturalWidth: it reads 0 while interactive_image swaps in the next source
      return { row: (y - r.top) * SIZE / r.height - 0.5, col: (x - r.left) * SIZE / r.width - 0.5 };
    },
    // capture phase on the document: before interactive_image's own load handler swaps in the next source
    listen: (check) => document.addEventListener('load', (e) => {
      if (e.target !== img) return;
      const t = performance.now();
      scratch.width = img.naturalWidth; scratch.height = img.naturalHeight;
      ctx.drawImage(img, 0, 0);
      check(t, (r, c) => {  // the orange overlay blended over grey; grey JPEG pixels have R ~ B
        const [R, G, B] = ctx.getImageData(c, r, 1, 1).data;
        return R - B > 80 && G < 200;
      });
    }, true),
  };
}""".replace("{SIZE}", str(SIZE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=220)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with running() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        variants = (
            ("SliceViewport (bit patches, binary socket.io)",
             f"/?tool=brush&radius={RADIUS}&w={SIZE}&h={SIZE}", "[data-testid=viewport-axial]", OURS,
             "stroke"),
            ("interactive_image, frame as data URL (baseline)", f"/baseline?via=data&radius={RADIUS}",
             "[data-testid=baseline] img", BASELINE, "mouse"),
            ("interactive_image, frame via GET route (baseline)", f"/baseline?via=route&radius={RADIUS}",
             "[data-testid=baseline] img", BASELINE, "mouse"),
        )
        for name, path, target, setup, kind in variants:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            result = measure(page, url, path, target, setup, kind, args.moves)
            page.close()
            latencies = result["latencies"][args.warmup:]
            confirmed = [v for v in latencies if v is not None]
            moves = len(latencies)
            rows.append([name, moves, f"{len(confirmed)}/{moves}", percentile(confirmed, 50),
                         percentile(confirmed, 95), max(confirmed), result["cpu_ms"] / result["moves"],
                         result["events"] / result["moves"], result["bytes"] / result["moves"] / 1024])
        browser.close()
    print(f"\n{SIZE}x{SIZE} slice, brush radius {RADIUS} px, pointer moves at {RATE_HZ} Hz, "
          f"{args.moves} moves ({args.warmup} warm-up not counted)\n")
    print_table(["viewer", "moves", "confirmed", "p50 ms", "p95 ms", "max ms", "server CPU ms/move",
                 "server events/move", "KiB to browser/move"], rows)


def measure(page: Page, url: str, path: str, target: str, setup: str, kind: str, count: int) -> dict:
    traffic = {"bytes": 0, "on": False}

    def count_bytes(n: int) -> None:
        if traffic["on"]:
            traffic["bytes"] += n

    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: count_bytes(len(payload))))
    page.on("response", lambda r: count_bytes(int(r.headers.get("content-length", 0)))
            if "/baseline/frame.jpg" in r.url else None)
    httpx.post(f"{url}/events/clear")
    page.goto(url + path)
    page.wait_for_selector(target)
    deadline = time.monotonic() + 30
    while not any(e["type"] == "ready" for e in httpx.get(f"{url}/events").json()["events"]):
        if time.monotonic() > deadline:
            raise RuntimeError("the page never reported ready")
        time.sleep(0.05)
    page.wait_for_timeout(500)  # the first frame decoded, the component settled
    page.evaluate(f"() => ({PROBE})(({setup})())")
    points = serpentine(count + 1)
    if "viewport" in target:  # the element's test hook: where image pixel (-0.5, -0.5) is, CSS px per pixel
        hook = f"document.querySelector('{target}').__viewport"
        origin = page.evaluate(f"() => {hook}.imageToClient(-0.5, -0.5)")
        scale = page.evaluate(f"() => {hook}.scale")
    else:
        box = page.locator(target).bounding_box()
        assert box
        origin, scale = box, box["width"] / SIZE

    def at(row: float, col: float) -> tuple[float, float]:
        return origin["x"] + (col + 0.5) * scale, origin["y"] + (row + 0.5) * scale

    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    page.wait_for_timeout(300)
    httpx.post(f"{url}/events/clear")
    cpu0 = httpx.get(f"{url}/cpu").json()["seconds"]
    traffic["on"] = True
    t = time.perf_counter()
    for row, col in points[1:]:
        page.mouse.move(*at(row, col))
        t += 1 / RATE_HZ
        time.sleep(max(0.0, t - time.perf_counter()))
    page.wait_for_timeout(1500)  # late confirmations
    traffic["on"] = False
    cpu1 = httpx.get(f"{url}/cpu").json()["seconds"]
    events = [e for e in httpx.get(f"{url}/events").json()["events"] if e["type"] == kind]
    page.mouse.up()
    moves = page.evaluate("() => window.__lat.moves.map((m) => m.done === null ? null : m.done - m.t)")
    return {"latencies": moves, "moves": len(moves), "cpu_ms": (cpu1 - cpu0) * 1000, "events": len(events),
            "bytes": traffic["bytes"]}


def serpentine(n: int, step: int = 12, row_step: int = 24, margin: int = 40,
               size: int = SIZE) -> list[tuple[int, int]]:
    """`n` points `step` px apart along rows `row_step` apart, back and forth over a slice of
    `size` x `size`."""
    cols = list(range(margin, size - margin, step))
    points: list[tuple[int, int]] = []
    row = margin
    while len(points) < n:
        points += [(row, c) for c in cols]
        cols.reverse()
        row += row_step
        if row > size - margin:
            raise ValueError("path too long for the image")
    return points[:n]


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


if __name__ == "__main__":
    main()
