"""A tiny NiceGUI app around one SliceViewport, for the browser tests and the latency benchmark.

Run: ``python -m tests.e2e.viewport_app PORT``.

- ``/?tool=brush&mode=draw&radius=4&aspect=1&w=160&h=120`` the viewport (``data-testid=viewport-axial``)
  on a generated CT phantom; strokes and polygons are painted into a numpy mask per slice and
  answered with ``set_overlay``; wheel changes the slice, right-drag the window level.
- ``/baseline?via=data|route&w=512&h=512&radius=4`` NiceGUI's ``ui.interactive_image``, which
  re-renders and re-sends the whole frame (base + overlay, JPEG) on every mouse event.
- ``GET /events`` what the server received (``POST /events/clear`` empties it), ``GET /cpu`` the
  process CPU seconds, ``GET /image.png`` / ``GET /baseline/frame.jpg`` the frames.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import Response
from nicegui import app, ui

from labelstack.components.slice_viewport import SliceViewport
from tests.phantoms import phantom_ct
from tests.processes import stop, wait_until_answering

SLICES = 20
LABEL = {"id": 1, "color": "#ff8c00", "visible": True, "opacity": 0.55}
EVENTS: list[dict[str, Any]] = []
LOCK = threading.Lock()  # plain `def` routes run in a thread pool beside the socket handlers
FRAMES: dict[str, bytes] = {}


@contextmanager
def running() -> Iterator[str]:
    """Start this app in a subprocess on a free loopback port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # NiceGUI switches to its test mode when it sees pytest's variables: hide them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    root = Path(__file__).resolve().parents[2]
    log = tempfile.NamedTemporaryFile("w+", prefix="viewport-app-", suffix=".log")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.viewport_app", str(port)], cwd=root, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/events", proc, Path(log.name), name="viewport app", timeout=60)
        yield url
    finally:
        stop(proc)
        log.close()


def record(kind: str, payload: Any) -> None:
    with LOCK:
        EVENTS.append({"type": kind, "t": time.time(), "payload": payload})


@functools.lru_cache(maxsize=4)
def volume(w: int, h: int) -> np.ndarray:
    return phantom_ct((SLICES, h, w))


def render(w: int, h: int, index: int, level: float) -> np.ndarray:
    """uint8 grey slice, window width 400 around ``level`` HU."""
    hu = volume(w, h)[index % SLICES].astype(np.float32)
    return np.clip((hu - (level - 200)) * (255 / 400), 0, 255).astype(np.uint8)


def paint(mask: np.ndarray, points: list[tuple[float, float]], radius: float, aspect: float,
          value: bool) -> tuple[int, int, int, int] | None:
    """The viewport's brush rule: capsules between consecutive points, pixel inside when its
    physical distance (rows times aspect) to the segment is <= radius. Returns the changed box."""
    h, w = mask.shape
    box = [h, w, 0, 0]
    for k, (r1, c1) in enumerate(points):
        r0, c0 = points[k - 1] if k else (r1, c1)
        ey, ex = (r1 - r0) * aspect, c1 - c0
        length2 = ey * ey + ex * ex
        ry = radius / aspect
        i0, i1 = max(0, math.ceil(min(r0, r1) - ry)), min(h - 1, math.floor(max(r0, r1) + ry))
        j0, j1 = max(0, math.ceil(min(c0, c1) - radius)), min(w - 1, math.floor(max(c0, c1) + radius))
        if i1 < i0 or j1 < j0:
            continue
        dy = ((np.arange(i0, i1 + 1, dtype=np.float64) - r0) * aspect)[:, None]
        dx = (np.arange(j0, j1 + 1, dtype=np.float64) - c0)[None, :]
        t = np.clip((dy * ey + dx * ex) / length2, 0, 1) if length2 > 0 else np.zeros((1, 1))
        qy, qx = dy - t * ey, dx - t * ex
        inside = qy * qy + qx * qx <= radius * radius
        if inside.any():
            mask[i0 : i1 + 1, j0 : j1 + 1][inside] = value
            rows, cols = np.nonzero(inside)
            box[:] = [min(box[0], i0 + rows.min()), min(box[1], j0 + cols.min()),
                      max(box[2], i0 + rows.max() + 1), max(box[3], j0 + cols.max() + 1)]
    return (int(box[0]), int(box[1]), int(box[2]), int(box[3])) if box[2] > box[0] else None


@app.get("/image.png")
def image_png(w: int = 160, h: int = 120, slice: int = 0, level: float = 40.0) -> Response:
    ok, data = cv2.imencode(".png", render(w, h, slice, level))
    return Response(data.tobytes(), media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@app.get("/events")
def events() -> dict[str, Any]:
    with LOCK:
        return {"events": list(EVENTS)}


@app.post("/events/clear")
def clear_events() -> dict[str, bool]:
    with LOCK:
        EVENTS.clear()
    return {"ok": True}


@app.get("/cpu")
def cpu() -> dict[str, float]:
    return {"seconds": time.process_time()}


@ui.page("/")
def viewport_page(tool: str = "brush", mode: str = "draw", radius: float = 4.0, aspect: float = 1.0,
                  w: int = 160, h: int = 120) -> None:
    ui.dark_mode(True)
    ui.query("body").style("background:#101214")
    state = {"slice": SLICES // 2, "level": 40.0, "last": {}}
    masks = {k: np.zeros((h, w), bool) for k in range(SLICES)}

    def src() -> str:
        return f"/image.png?w={w}&h={h}&slice={state['slice']}&level={state['level']:.0f}"

    def corner() -> dict[str, str]:
        return {"tl": f"Slice {state['slice'] + 1} / {SLICES}\nAxial", "tr": "PHANTOM-1\nCT",
                "bl": f"W 400  L {state['level']:.0f}", "br": f"{w}×{h}  aspect {aspect:g}"}

    def on_stroke(e) -> None:
        record("stroke", {"stroke": e.stroke, "points": e.points, "final": e.final, "mode": e.mode,
                          "radius": e.radius})
        last = state["last"].pop(e.stroke, None)
        points = ([last] if last else []) + list(e.points)
        box = paint(masks[state["slice"]], points, e.radius, aspect, e.mode == "draw")
        if points and not e.final:
            state["last"][e.stroke] = points[-1]
        if box:
            viewport.set_mask(LABEL["id"], masks[state["slice"]], box)
        if e.final:
            viewport.clear_preview(e.stroke)

    def on_shape(e) -> None:
        record("shape", {"tool": e.tool, "points": e.points})
        if e.tool == "polygon":
            mask = masks[state["slice"]].view(np.uint8)
            pts = np.round(np.array([(c, r) for r, c in e.points])).astype(np.int32)
            cv2.fillPoly(mask, [pts], 1)
            viewport.set_mask(LABEL["id"], masks[state["slice"]])

    def on_slice(e) -> None:
        record("slice", {"delta": e.delta})
        state["slice"] = min(SLICES - 1, max(0, state["slice"] + e.delta))
        viewport.set_image(src())
        viewport.corner_text = corner()
        viewport.clear_overlays()
        viewport.set_mask(LABEL["id"], masks[state["slice"]])

    def on_window(e) -> None:
        record("window", {"dx": e.dx, "dy": e.dy, "final": e.final})
        state["level"] += e.dy
        viewport.set_image(src())
        viewport.corner_text = corner()

    def on_ready(_) -> None:
        record("ready", {})
        viewport.set_mask(LABEL["id"], masks[state["slice"]])

    with ui.column().classes("w-full items-center q-pa-md"):
        viewport = SliceViewport(
            src=src(), image_width=w, image_height=h, aspect=aspect, labels=[LABEL],
            active_label=LABEL["id"], tool=tool, mode=mode, brush_radius_px=radius,  # type: ignore[arg-type]
            crosshair={"row": h / 2, "col": w / 2},
            orientation_letters={"top": "A", "bottom": "P", "left": "R", "right": "L"},
            corner_text=corner(), on_stroke=on_stroke, on_shape=on_shape, on_slice=on_slice,
            on_window=on_window, on_ready=on_ready,
            on_point=lambda e: record("point", {"row": e.row, "col": e.col}),
            on_hover=lambda e: record("hover", None if e.row is None else {"row": e.row, "col": e.col}),
        ).props("data-testid=viewport-axial").style("width: 900px; height: 600px")
        with ui.row():
            for name in ("draw", "erase"):
                ui.button(name, on_click=lambda name=name: setattr(viewport, "mode", name)) \
                    .props(f"flat dense data-testid=mode-{name}")
            ui.button("zoom in", on_click=lambda: viewport.zoom_by(2)).props("flat dense data-testid=zoom-in")
            ui.button("fit", on_click=viewport.reset_view).props("flat dense data-testid=reset-view")


@app.get("/baseline/frame.jpg")
def baseline_frame(key: str, v: int = 0) -> Response:
    with LOCK:
        data = FRAMES.get(key, b"")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@ui.page("/baseline")
def baseline_page(via: str = "data", w: int = 512, h: int = 512, radius: float = 4.0) -> None:
    """What the notes measured as the baseline: the server composites and re-sends every frame."""
    ui.dark_mode(True)
    grey = cv2.cvtColor(render(w, h, SLICES // 2, 40.0), cv2.COLOR_GRAY2BGR)
    colour = np.zeros_like(grey)
    colour[:] = (0, 140, 255)  # BGR of #ff8c00
    mask = np.zeros((h, w), bool)
    state = {"version": 0, "last": None}
    key = str(id(mask))

    def frame() -> str:
        out = grey.copy()
        blend = cv2.addWeighted(grey, 0.45, colour, 0.55, 0)
        np.copyto(out, blend, where=mask[..., None])
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 90])
        state["version"] += 1
        if via == "route":
            with LOCK:
                FRAMES[key] = data.tobytes()
            return f"/baseline/frame.jpg?key={key}&v={state['version']}"
        return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode()

    def on_mouse(e) -> None:
        point = (e.image_y - 0.5, e.image_x - 0.5)  # interactive_image: pixel edges at integers
        if e.type == "mousedown":
            state["last"] = None
        if e.type == "mouseup" or not e.buttons & 1:
            state["last"] = None
            return
        record("mouse", {"type": e.type, "row": point[0], "col": point[1]})
        points = [state["last"], point] if state["last"] else [point]
        paint(mask, points, radius, 1.0, True)
        state["last"] = point
        image.set_source(frame())

    with ui.column().classes("w-full items-center q-pa-md"):
        image = ui.interactive_image(frame(), on_mouse=on_mouse, events=["mousedown", "mousemove", "mouseup"])
        image.props("data-testid=baseline").style("width: 600px")
    ui.timer(0.1, lambda: record("ready", {}), once=True)


if __name__ in {"__main__", "__mp_main__"}:
    ui.run(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8099, host="127.0.0.1", reload=False,
           show=False, title="SliceViewport harness", dark=True)
