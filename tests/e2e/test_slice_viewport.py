"""The slice viewport in real Chromium, against the small harness app in tests/e2e/viewport_app.py.

Mouse positions come from the element's test hook (``el.__viewport.imageToClient``), so the tests
name image pixels and stay independent of layout, zoom and pan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import screenshot
from tests.e2e.viewport_app import LABEL, paint, running

pytestmark = pytest.mark.browser
VP = "[data-testid=viewport-axial]"
ORANGE = [255, 140, 0, 255]  # LABEL colour, opaque inside its canvas (the group carries the opacity)
Point = tuple[float, float]


@pytest.fixture(scope="module")
def harness() -> Iterator[str]:
    with running() as url:
        yield url


def open_viewport(page: Page, url: str, **query: Any) -> None:
    httpx.post(f"{url}/events/clear")
    page.goto(f"{url}/?" + "&".join(f"{k}={v}" for k, v in query.items()))
    page.wait_for_function(f"() => document.querySelector('{VP}')?.__viewport?.frame")
    wait_events(url, lambda ev: any(e["type"] == "ready" for e in ev))
    httpx.post(f"{url}/events/clear")


def hook(page: Page, expr: str) -> Any:
    return page.evaluate(f"() => {{ const v = document.querySelector('{VP}').__viewport; return {expr}; }}")


def client(page: Page, row: float, col: float) -> tuple[float, float]:
    p = hook(page, f"v.imageToClient({row}, {col})")
    return p["x"], p["y"]


def events(url: str, kind: str | None = None) -> list[dict[str, Any]]:
    found = httpx.get(f"{url}/events").json()["events"]
    return [e for e in found if kind is None or e["type"] == kind]


def wait_events(url: str, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = events(url)
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"events never arrived: {found}")
        time.sleep(0.05)


def drag(page: Page, path: Sequence[Point], *, button: str = "left", shot: str | None = None) -> None:
    """Press at the first image pixel, move through the others (one frame apart), release."""
    page.mouse.move(*client(page, *path[0]))
    page.mouse.down(button=button)  # type: ignore[arg-type]
    for row, col in path[1:]:
        page.mouse.move(*client(page, row, col))
        page.wait_for_timeout(20)
    if shot:
        screenshot(page, shot)
    page.mouse.up(button=button)  # type: ignore[arg-type]


def stroke_points(url: str) -> list[list[float]]:
    found = wait_events(url, lambda ev: any(e["type"] == "stroke" and e["payload"]["final"] for e in ev))
    return [p for e in found if e["type"] == "stroke" for p in e["payload"]["points"]]


def assert_points(got: Sequence[Sequence[float]], expected: Sequence[Point]) -> None:
    assert len(got) == len(expected), got
    assert np.abs(np.asarray(got) - np.asarray(expected)).max() <= 0.5, (got, expected)


def overlay(page: Page) -> np.ndarray:
    """RGBA of label 1's confirmed overlay canvas, at the image's native resolution."""
    data = page.evaluate(f"""() => {{
        const c = document.querySelector('{VP} canvas.ls-pixels');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }}""")
    size = page.evaluate(f"() => {{ const c = document.querySelector('{VP} canvas.ls-pixels'); "
                         "return [c.height, c.width]; }")
    return np.asarray(data, np.uint8).reshape(size[0], size[1], 4)


def test_image_opens_fitted_and_centred(page: Page, harness: str) -> None:
    open_viewport(page, harness, tool="none", w=160, h=120, aspect=1.5)
    box = page.locator(VP).bounding_box()
    assert box and (box["width"], box["height"]) == (900, 600)
    (x0, y0), (x1, y1) = client(page, -0.5, -0.5), client(page, 119.5, 159.5)
    # 160 x (120 * 1.5) physical in 900 x 600: the height fills the box, the width is centred
    assert (y0, y1) == pytest.approx((box["y"], box["y"] + 600), abs=0.01)
    width = 160 * 600 / 180
    assert x1 - x0 == pytest.approx(width, abs=0.01)
    assert x0 - box["x"] == pytest.approx((900 - width) / 2, abs=0.01)
    drawn = page.evaluate(f"() => document.querySelector('{VP} canvas').getBoundingClientRect().toJSON()")
    corners = (drawn["x"], drawn["y"], drawn["right"], drawn["bottom"])
    assert corners == pytest.approx((x0, y0, x1, y1), abs=0.5)
    assert page.evaluate(f"() => !document.querySelector('{VP}')"
                         ".dispatchEvent(new MouseEvent('contextmenu', {bubbles: true, cancelable: true}))")
    page.get_by_test_id("zoom-in").click()
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.zoom === 2")
    # zoom_by zooms around the viewport centre, where the image centre stays
    assert client(page, 59.5, 79.5) == pytest.approx((box["x"] + 450, box["y"] + 300))
    page.get_by_test_id("reset-view").click()
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.zoom === 1")
    assert client(page, -0.5, -0.5) == pytest.approx((x0, y0))
    expect_text = page.locator(VP).inner_text()
    assert "Slice 11 / 20" in expect_text and "W 400" in expect_text
    assert all(letter in expect_text.split() for letter in "APRL")


def test_brush_strokes_report_image_pixels_and_show_the_confirmed_overlay(page: Page, harness: str) -> None:
    open_viewport(page, harness, tool="brush", radius=3, w=160, h=120)
    path = [(60, 30), (60, 34), (61.5, 38), (63, 42.25), (64, 46), (64, 50)]
    drag(page, path, shot="viewport-brush-stroke")
    received = stroke_points(harness)
    assert_points(received, path)
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.previews.length === 0")
    # the confirmed overlay is exactly the server's mask of the received points
    expected = np.zeros((120, 160), bool)
    paint(expected, [tuple(p) for p in received], 3, 1.0, True)
    rgba = overlay(page)
    assert np.array_equal(rgba[..., 3] == 255, expected)
    assert (rgba[expected] == ORANGE).all()
    assert LABEL["color"] == "#ff8c00"
    httpx.post(f"{harness}/events/clear")

    # zoom with ctrl+wheel around the pointer: the image pixel under it stays put
    x, y = (round(v) for v in client(page, 40, 100))  # wheel events carry whole CSS pixels
    page.mouse.move(x, y)
    before = hook(page, f"v.clientToImage({x}, {y})")
    page.keyboard.down("Control")
    page.mouse.wheel(0, -400)
    page.keyboard.up("Control")
    assert hook(page, "v.zoom") > 1.5
    under = hook(page, f"v.clientToImage({x}, {y})")
    assert (under["row"], under["col"]) == pytest.approx((before["row"], before["col"]), abs=1e-6)
    # pan with the middle button, then with space + left drag
    pan = hook(page, "v.pan")
    page.mouse.down(button="middle")
    page.mouse.move(x - 120, y + 60, steps=4)
    page.mouse.up(button="middle")
    page.keyboard.down("Space")
    page.mouse.move(x - 120, y + 60)
    page.mouse.down()
    page.mouse.move(x - 150, y + 20, steps=3)
    page.mouse.up()
    page.keyboard.up("Space")
    moved = hook(page, "v.pan")
    assert (moved["x"] - pan["x"], moved["y"] - pan["y"]) == pytest.approx((-150, 20), abs=0.01)
    assert not events(harness, "stroke")

    path = [(30, 90), (31.25, 93), (33, 96.5), (35, 99)]
    drag(page, path)
    second = stroke_points(harness)
    assert_points(second, path)

    # erase: the preview shows at once (its own canvas), the server clears, the overlay follows
    page.get_by_test_id("mode-erase").click()
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.mode === 'erase'")
    httpx.post(f"{harness}/events/clear")
    erase_path = [(26, 95), (32, 95), (38, 95)]  # across the second stroke, in view after zoom and pan
    drag(page, erase_path, shot="viewport-brush-erase")
    erased = stroke_points(harness)
    (mode,) = {e["payload"]["mode"] for e in events(harness, "stroke")}
    assert mode == "erase"
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.previews.length === 0")
    for points, value in ((received, True), (second, True), (erased, False)):
        paint(expected, [tuple(p) for p in points], 3, 1.0, value)
    assert np.array_equal(overlay(page)[..., 3] == 255, expected)

    # another slice: its (empty) overlay arrives with its image; back again: the mask is still there
    page.mouse.move(*client(page, 32, 95))
    page.mouse.wheel(0, 100)
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.frame.includes('slice=11')")
    page.wait_for_timeout(100)
    assert not (overlay(page)[..., 3]).any()
    page.mouse.wheel(0, -100)
    page.wait_for_function(f"() => document.querySelector('{VP}').__viewport.frame.includes('slice=10')")
    page.wait_for_timeout(100)
    assert np.array_equal(overlay(page)[..., 3] == 255, expected)


def test_polygon_closes_by_enter_double_click_and_first_point_and_escape_cancels(page: Page,
                                                                                 harness: str) -> None:
    open_viewport(page, harness, tool="polygon", w=160, h=120)
    square = [(30.0, 40.0), (30.0, 80.0), (70.0, 80.0), (70.0, 40.0)]
    for p in square:
        page.mouse.click(*client(page, *p))
    assert_points(hook(page, "v.shape"), square)
    page.mouse.move(*client(page, 85, 60))
    page.wait_for_timeout(50)
    screenshot(page, "viewport-polygon")
    page.keyboard.press("Enter")
    found = wait_events(harness, lambda ev: any(e["type"] == "shape" for e in ev))
    (shape,) = [e["payload"] for e in found if e["type"] == "shape"]
    assert shape["tool"] == "polygon"
    assert_points(shape["points"], square)
    # the server rasterised it and answered with the overlay
    page.wait_for_function(f"""() => {{ const c = document.querySelector('{VP} canvas.ls-pixels');
        return c.getContext('2d').getImageData(60, 50, 1, 1).data[3] === 255; }}""")

    def close_by(action: Callable[[], None], points: Sequence[Point]) -> list[list[float]]:
        httpx.post(f"{harness}/events/clear")
        for p in points:
            page.mouse.click(*client(page, *p))
        action()
        found = wait_events(harness, lambda ev: any(e["type"] == "shape" for e in ev))
        return [e["payload"]["points"] for e in found if e["type"] == "shape"][0]

    triangle = [(10.0, 100.0), (10.0, 140.0), (50.0, 120.0)]
    double_click = close_by(lambda: page.mouse.dblclick(*client(page, 40, 100)), triangle)
    assert_points(double_click, [*triangle, (40, 100)])
    assert_points(close_by(lambda: page.mouse.click(*client(page, 10.3, 100.2)), triangle), triangle)

    httpx.post(f"{harness}/events/clear")
    for p in triangle:
        page.mouse.click(*client(page, *p))
    page.keyboard.press("Backspace")
    assert_points(hook(page, "v.shape"), triangle[:2])
    page.keyboard.press("Escape")
    assert hook(page, "v.shape") == []
    # press-and-drag adds freehand vertices
    drag(page, [(90, 20), (92, 30), (96, 40), (104, 44), (110, 38)])
    assert len(hook(page, "v.shape")) == 5
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert not events(harness, "shape")


def test_spline_control_points_can_be_dragged_before_closing(page: Page, harness: str) -> None:
    open_viewport(page, harness, tool="spline", w=160, h=120)
    points = [(25.0, 50.0), (30.0, 95.0), (60.0, 110.0), (90.0, 80.0), (70.0, 45.0)]
    for p in points:
        page.mouse.click(*client(page, *p))
    drag(page, [points[2], (55.0, 125.0)])  # move the third control point
    page.mouse.move(*client(page, 42, 38))  # where the next control point would go
    page.wait_for_timeout(50)
    screenshot(page, "viewport-spline")
    page.keyboard.press("Enter")
    found = wait_events(harness, lambda ev: any(e["type"] == "shape" for e in ev))
    (shape,) = [e["payload"] for e in found if e["type"] == "shape"]
    assert shape["tool"] == "spline"
    assert_points(shape["points"], [*points[:2], (55.0, 125.0), *points[3:]])


def test_wheel_changes_slices_and_right_drag_the_window(page: Page, harness: str) -> None:
    open_viewport(page, harness, tool="none", w=160, h=120)
    page.mouse.move(*client(page, 60, 80))
    for dy in (100, -100):
        page.mouse.wheel(0, dy)
    page.keyboard.down("Shift")
    page.mouse.wheel(0, 100)
    page.keyboard.up("Shift")
    page.keyboard.down("Control")
    page.mouse.wheel(0, 100)  # zooms, does not change the slice
    page.keyboard.up("Control")
    wait_events(harness, lambda ev: len([e for e in ev if e["type"] == "slice"]) >= 3)
    page.wait_for_timeout(200)
    assert [e["payload"]["delta"] for e in events(harness, "slice")] == [1, -1, 10]
    page.wait_for_function(f"() => document.querySelector('{VP}').innerText.includes('Slice 20 / 20')")

    x, y = client(page, 60, 80)
    page.mouse.move(x, y)
    page.mouse.down(button="right")
    for k in range(1, 7):
        page.mouse.move(x + 5 * k, y - 7.5 * k)
        page.wait_for_timeout(20)
    page.mouse.up(button="right")
    found = wait_events(harness, lambda ev: any(e["type"] == "window" and e["payload"]["final"] for e in ev))
    window = [e["payload"] for e in found if e["type"] == "window"]
    assert window[-1]["final"] and not any(w["final"] for w in window[:-1])
    assert sum(w["dx"] for w in window) == pytest.approx(30, abs=0.01)
    assert sum(w["dy"] for w in window) == pytest.approx(-45, abs=0.01)
    assert 2 <= len(window) <= 7
    page.wait_for_function(f"() => document.querySelector('{VP}').innerText.includes('L -5')")

    # tool 'none': a click reports the pixel for the crosshair; hover follows, null outside
    httpx.post(f"{harness}/events/clear")
    page.mouse.click(*client(page, 12, 34))
    page.mouse.move(*client(page, 20.2, 30.8))
    page.mouse.move(5, 5)
    found = wait_events(harness, lambda ev: any(e["type"] == "hover" and e["payload"] is None for e in ev))
    (point,) = [e["payload"] for e in found if e["type"] == "point"]
    assert (point["row"], point["col"]) == pytest.approx((12, 34), abs=0.5)
    hovers = [e["payload"] for e in found if e["type"] == "hover"]
    assert {"row": 20, "col": 31} in hovers and hovers[-1] is None
