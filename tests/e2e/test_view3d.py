"""The 3D view in Chromium: the annotator's 3D layout on the demo CT with a painted label shows
the label's colour; another stroke changes the surface; a moved slice moves its plane; the
event loop stays responsive while the view rotates; a second 3D view past the bound gets a
clear message; a closed page's view process ends within the idle time; the proxied path needs
a session."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from tests.e2e.conftest import ARTIFACTS, LiveServer
from tests.e2e.test_annotator import (
    drag,
    new_task,
    open_task,
    series,
    set_layout,
    use_tool,
    wait_frame,
)

pytestmark = pytest.mark.browser

IDLE_SECONDS = 4
LABEL_COLOUR = "#ff00ff"  # magenta: nowhere in the CT presets
PRESETS = ("Soft tissue", "Bone", "Lung", "Vessels (contrast)")


@pytest.fixture(scope="module")
def server(start_server) -> Iterator[LiveServer]:  # noqa: ANN001
    """A demo of its own with one 3D view allowed, a short idle time and the lag probe."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LABELSTACK_MAX_3D_VIEWS", "1")
        env.setenv("LABELSTACK_VIEW3D_IDLE_SECONDS", str(IDLE_SECONDS))
        env.setenv("LABELSTACK_VIEW3D_LAG_PROBE", "true")
        live = start_server()
    yield live


@pytest.fixture(scope="module")
def task(server: LiveServer) -> dict:
    return new_task(server, "3D view", [series(server, "CT")["id"]], [("Lesion 3D", LABEL_COLOUR)])


def view3d_processes(server: LiveServer) -> list[int]:
    """Process ids of this server's 3D views (their spec lives in its data dir)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"labelstack.view3d" in args and any(str(server.data_dir).encode() in a for a in args):
            found.append(int(cmdline.parent.name))
    return found


def frame_pixels(page: Page) -> np.ndarray:
    """The 3D view as shown (RGB)."""
    data = page.get_by_test_id("view3d-frame").screenshot()
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]


def magenta(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r - g > 40) & (b - g > 40)


def red_plane(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r > 170) & (g < 0.55 * r) & (b < 0.55 * r)


def wait_pixels(page: Page, check: Callable[[np.ndarray], bool], what: str,
                timeout: float = 60) -> np.ndarray:
    deadline = time.monotonic() + timeout
    while True:
        rgb = frame_pixels(page)
        if check(rgb):
            return rgb
        if time.monotonic() > deadline:
            cv2.imwrite(str(ARTIFACTS / "view3d-failed.png"), rgb[:, :, ::-1])
            raise AssertionError(f"the 3D view never showed {what} (its last frame: view3d-failed.png)")
        page.wait_for_timeout(500)


def still_frame(page: Page, timeout: float = 20) -> np.ndarray:
    """The frame once two in a row, half a second apart, are the same (rendering has settled)."""
    deadline = time.monotonic() + timeout
    last = frame_pixels(page)
    while True:
        page.wait_for_timeout(500)
        rgb = frame_pixels(page)
        if np.array_equal(rgb, last):
            return rgb
        assert time.monotonic() < deadline, "the 3D view never settled"
        last = rgb


def big_ball_brush(page: Page) -> None:
    """The 3D brush, 12 mm: one press paints a ball the 3D view shows large."""
    size = page.locator("[data-testid=tool-size] input, input[data-testid=tool-size]").first
    size.fill("12")
    size.press("Enter")
    page.get_by_test_id("tool-sphere").click()


def view3d(page: Page) -> FrameLocator:
    return page.frame_locator("[data-testid=view3d-frame]")


def labelled_3d_view(page: Page, server: LiveServer, task: dict, *, at: tuple[int, int]) -> np.ndarray:
    """The task open, a big brush stroke at `at`, then the 3D layout, until the view shows the
    label's colour; its pixels then."""
    open_task(page, server, task["task"]["id"])
    use_tool(page, "brush")
    big_ball_brush(page)
    drag(page, [at, (at[0] + 1, at[1] + 1)])
    page.wait_for_timeout(800)
    page.get_by_test_id("layout-3d").click()
    expect(view3d(page).get_by_test_id("view3d-render")).to_be_visible(timeout=90_000)
    return wait_pixels(page, lambda rgb: magenta(rgb).sum() > 50, "the label's colour")


def save_artifact(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_test_id("view3d-frame").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_the_3d_view_follows_strokes_slices_and_closes(browser: Browser, page: Page, server: LiveServer,
                                                      task: dict) -> None:
    first = labelled_3d_view(page, server, task, at=(110, 80))
    page.screenshot(path=str(ARTIFACTS / "view3d-annotator.png"))

    wait_frame(page, "axial")
    use_tool(page, "brush")
    drag(page, [(145, 60), (146, 61)])
    before = magenta(first)
    wait_pixels(page, lambda rgb: (magenta(rgb) & ~before).sum() > 50, "the new stroke's surface",
                timeout=20)

    rows = np.nonzero(red_plane(frame_pixels(page)))[0]
    assert rows.size > 20, "the axial plane is not drawn"
    page.keyboard.press("PageDown")  # the active (axial) view: 10 slices down, twice
    page.keyboard.press("PageDown")
    was = float(np.median(rows))
    wait_pixels(page, lambda rgb: red_plane(rgb).sum() > 20
                and abs(float(np.median(np.nonzero(red_plane(rgb))[0])) - was) > 10,
                "the axial plane move", timeout=20)

    second = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    open_task(second, server, task["task"]["id"], layout=None, editable=False)
    second.get_by_test_id("layout-3d").click()
    expect(second.get_by_test_id("view3d-busy")).to_contain_text("LABELSTACK_MAX_3D_VIEWS")
    second.screenshot(path=str(ARTIFACTS / "view3d-busy.png"))
    set_layout(second, 1)
    second.context.close()

    view_id = page.get_by_test_id("view3d-frame").get_attribute("data-view-id")
    assert view3d_processes(server)
    page.context.close()
    deadline = time.monotonic() + IDLE_SECONDS + 15
    while view3d_processes(server):
        assert time.monotonic() < deadline, "the 3D view process outlived its page"
        time.sleep(0.5)
    assert httpx.get(f"{server.url}/view3d/{view_id}/index.html").status_code == 401


def test_presets_rotation_and_a_clicked_surface_point(page: Page, server: LiveServer, task: dict) -> None:
    labelled_3d_view(page, server, task, at=(100, 95))
    frame = view3d(page)
    for title in PRESETS:
        frame.get_by_test_id("view3d-preset").click()
        frame.get_by_role("option", name=title, exact=True).click()
        page.wait_for_timeout(2500)
        save_artifact(page, f"view3d-{title.split()[0].lower()}")

    box = page.get_by_test_id("view3d-frame").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    expect(page.get_by_test_id("save-state").first).to_have_attribute("data-state", "saved", timeout=20_000)
    page.wait_for_timeout(1000)  # the save's own work is over: what is measured is the rotation
    httpx.get(f"{server.url}/view3d-lag", params={"reset": True})
    page.mouse.move(cx, cy)
    page.mouse.down()
    for t in np.linspace(0, 2 * np.pi, 60):
        page.mouse.move(cx + 120 * np.sin(t), cy + 40 * np.sin(2 * t))
        page.wait_for_timeout(40)
    page.mouse.up()
    worst = httpx.get(f"{server.url}/view3d-lag", params={"reset": True}).json()["worst_ms"]
    assert worst < 50, f"the event loop lagged {worst} ms while the 3D view rotated"

    frame.get_by_test_id("view3d-reset").click()
    rgb = still_frame(page)
    assert magenta(rgb).sum() > 50, "the label is not in view after a reset"
    _, _, stats, centres = cv2.connectedComponentsWithStats(magenta(rgb).astype(np.uint8))
    x, y = centres[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]  # the largest surface seen
    box = page.get_by_test_id("view3d-frame").bounding_box()  # the page may have scrolled
    assert box is not None
    scale = box["width"] / rgb.shape[1]
    sliders = [page.get_by_test_id(f"slider-{k}") for k in (1, 2)]  # the coronal and sagittal views
    before = [s.get_attribute("aria-valuenow") for s in sliders]
    page.mouse.click(box["x"] + float(x) * scale, box["y"] + float(y) * scale)
    deadline = time.monotonic() + 10
    while [s.get_attribute("aria-valuenow") for s in sliders] == before:
        assert time.monotonic() < deadline, "clicking the surface did not move the 2D views"
        page.wait_for_timeout(200)
    save_artifact(page, "view3d-labels")


def test_the_proxied_path_needs_a_session(server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}/view3d/anything/index.html")
    assert answer.status_code == 401
