"""The annotator in Chromium: paint, draw shapes, undo, layouts, the labels panel, two tabs on
one annotation (read-only, take over), a failed save shown and retried, and the read-only
viewer of one image; the mask from the API has exactly the voxels drawn, and what was
acknowledged survives a reload.

The helpers here (API calls, opening a task, pointer input in image pixels) are shared with
test_annotator_tools.py."""

from __future__ import annotations

import io
import sqlite3
import time
from collections.abc import Callable, Iterable

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, login, screenshot

pytestmark = pytest.mark.browser

SLICE_INPUT = "input[data-testid=slice-index], [data-testid=slice-index] input"
Point = tuple[float, float]


# ---- helpers (also used by test_annotator_tools.py)


def token(server: LiveServer, role: str) -> dict[str, str]:
    email, password = DEMO_LOGINS[role]
    r = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": email, "password": password})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def api(server: LiveServer, headers: dict[str, str], method: str, path: str, **kwargs) -> httpx.Response:  # noqa: ANN003
    r = httpx.request(method, f"{server.url}/api/v1{path}", headers=headers, timeout=60, **kwargs)
    assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
    return r


def start_task(server: LiveServer, task_id: int) -> list[int]:
    """Start the annotator's task; returns its annotation ids."""
    headers = token(server, "annotator")
    api(server, headers, "POST", f"/tasks/{task_id}/status", json={"status": "in_progress"})
    return [a["id"] for a in api(server, headers, "GET", "/annotations", params={"task_id": task_id}).json()]


def new_task(server: LiveServer, name: str, series_ids: list[int], labels: list[tuple[str, str]]) -> dict:
    """An annotation task over images for the demo annotator, with labels of its own, started."""
    admin = token(server, "admin")
    label_ids = [api(server, admin, "POST", "/labels", json={"name": label, "color": color}).json()["id"]
                 for label, color in labels]
    annotator = next(u for u in api(server, admin, "GET", "/users").json()
                     if u["email"] == DEMO_LOGINS["annotator"][0])
    task = api(server, admin, "POST", "/tasks", json={
        "type": "annotation", "name": name, "series_ids": series_ids, "label_ids": label_ids,
        "assignee_id": annotator["id"]}).json()
    return {"task": task, "annotations": start_task(server, task["id"])}


def series(server: LiveServer, modality: str) -> dict:
    found = api(server, token(server, "admin"), "GET", "/series", params={"modality": modality}).json()
    return found["items"][0]


def mask(server: LiveServer, annotation: int) -> np.ndarray:
    r = api(server, token(server, "annotator"), "GET", f"/annotations/{annotation}/mask")
    return np.load(io.BytesIO(r.content))


def wait_mask(server: LiveServer, annotation: int, check: Callable[[np.ndarray], bool],
              timeout: float = 20) -> np.ndarray:
    """Poll the mask route (revision + journal: what was acknowledged) until `check` holds."""
    deadline = time.monotonic() + timeout
    while True:
        found = mask(server, annotation)
        if check(found):
            return found
        assert time.monotonic() < deadline, f"mask never matched: {int(found.sum())} voxels"
        time.sleep(0.1)


def wait_frame(page: Page, plane: str = "axial") -> None:
    """Until the view shows its image (the annotator has opened the image)."""
    expect(page.get_by_test_id(f"viewport-{plane}")).to_be_visible(timeout=30_000)
    page.wait_for_function(
        "(p) => { const el = document.querySelector(`[data-testid=viewport-${p}]`);"
        " return el && el.__viewport && el.__viewport.frame }", arg=plane, timeout=30_000)


def keys_ready(page: Page) -> None:
    """Until the page's keyboard handler answers (a key right after loading can be lost)."""
    for key, mode in (("e", "erase"), ("d", "draw")):
        deadline = time.monotonic() + 15
        while viewport(page, "mode") != mode:
            assert time.monotonic() < deadline, "the keyboard shortcuts never answered"
            page.keyboard.press(key)
            page.wait_for_timeout(300)


def open_task(page: Page, server: LiveServer, task_id: int, *, sign_in: bool = True,
              layout: int | None = 1, editable: bool = True) -> None:
    """Open the task's annotator (by default in one axial view) and wait until it may draw (the
    previous test's tab may still be letting go of the annotation)."""
    if sign_in:
        login(page, server, "annotator")
    page.goto(f"{server.url}/task/{task_id}")
    expect(page.get_by_test_id("view-0")).to_be_visible(timeout=30_000)
    if layout is not None:
        set_layout(page, layout)
    wait_frame(page)
    if editable:
        expect(page.get_by_test_id("read-only")).to_be_hidden(timeout=20_000)
    page.wait_for_timeout(300)


def set_layout(page: Page, n: int, planes: Iterable[str] = ("axial", "coronal", "sagittal")) -> None:
    """Choose the layout and the views' planes (of a volume; an image has its one view)."""
    if page.get_by_test_id("layout-2").is_disabled():
        return  # not a volume
    page.get_by_test_id(f"layout-{n}").click()
    for position, plane in list(enumerate(planes))[:n]:
        choose_plane(page, position, plane)


def choose_plane(page: Page, position: int, plane: str) -> None:
    select = page.get_by_test_id(f"plane-{position}")
    expect(select).to_be_visible()
    if plane.capitalize() not in select.inner_text():
        select.click()
        page.get_by_role("option", name=plane.capitalize(), exact=True).click()
    expect(page.get_by_test_id(f"view-{position}").get_by_test_id(f"viewport-{plane}")).to_be_visible()


def viewport(page: Page, attribute: str, plane: str = "axial"):  # noqa: ANN201
    return page.get_by_test_id(f"viewport-{plane}").first.evaluate(f"el => el.__viewport.{attribute}")


def client_xy(page: Page, row: float, col: float, plane: str = "axial") -> Point:
    point = page.get_by_test_id(f"viewport-{plane}").first.evaluate(
        "(el, rc) => el.__viewport.imageToClient(rc[0], rc[1])", [row, col])
    return point["x"], point["y"]


def drag(page: Page, points: list[Point], plane: str = "axial", steps: int = 12) -> None:
    """A left-button drag through image pixels (row, col), as a hand would move."""
    xy = [client_xy(page, r, c, plane) for r, c in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(xy, xy[1:], strict=False):
        for t in np.linspace(0, 1, steps)[1:]:
            page.mouse.move(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    page.mouse.up()


def click_points(page: Page, points: list[Point], plane: str = "axial") -> None:
    for row, col in points:
        page.mouse.click(*client_xy(page, row, col, plane))
        page.wait_for_timeout(600)  # apart, so two clicks never count as the closing double click


def use_tool(page: Page, tool: str, *, key: str | None = None, mode: str | None = None) -> None:
    """Choose a tool (by its key, else its button) and wait until the views draw with it."""
    if key:
        page.keyboard.press(key)
    else:
        page.get_by_test_id(f"tool-{tool}").click()
    hook = "document.querySelector('[data-testid^=viewport-]').__viewport"
    page.wait_for_function(f"(t) => {hook}.tool === t", arg=tool)
    if mode is not None:
        page.keyboard.press("e" if mode == "erase" else "d")
        page.wait_for_function(f"(m) => {hook}.mode === m", arg=mode)


def rest_pointer(page: Page, plane: str = "axial") -> None:
    """The pointer over the middle of a view (no tooltip left over in a screenshot)."""
    box = page.get_by_test_id(f"viewport-{plane}").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)


def slice_index(page: Page) -> int:
    return int(page.locator(SLICE_INPUT).first.input_value())


def annotation_of(page: Page, label: str) -> int:
    return int(page.get_by_test_id(f"label-row-{label}").get_by_test_id("save-state")
               .get_attribute("data-annotation"))


# ---- this module's server and task


@pytest.fixture(scope="module")
def server(start_server) -> LiveServer:  # noqa: ANN001
    """A demo of its own: these tests start and paint its lung task."""
    return start_server()


@pytest.fixture(scope="module")
def lung_task(server: LiveServer) -> dict:
    headers = token(server, "annotator")
    task = api(server, headers, "GET", "/tasks", params={"q": "outline the lungs"}).json()["items"][0]
    return {"task": task, "annotation": start_task(server, task["id"])[0], "headers": headers}


def _open(page: Page, server: LiveServer, lung_task: dict, **kwargs) -> None:  # noqa: ANN003
    open_task(page, server, lung_task["task"]["id"], **kwargs)


def test_brush_in_axial_lands_on_the_voxels_under_the_pointer(page: Page, server: LiveServer,
                                                              lung_task: dict) -> None:
    _open(page, server, lung_task)
    index = slice_index(page)
    use_tool(page, "brush")
    drag(page, [(100, 90), (100, 130)])
    found = wait_mask(server, lung_task["annotation"], lambda m: bool(m[index, 100, 88:133].all()))
    screenshot(page, "annotator-brush")
    z, rows, _ = np.nonzero(found)
    assert set(z) == {index}
    assert found[index, 100, 90:131].all()  # the stroke's centre line, acknowledged = in the mask
    assert rows.min() >= 100 - 6 and rows.max() <= 100 + 6  # 3 mm radius at 0.8 mm pixels
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved", timeout=20_000)

    page.keyboard.press("Control+z")  # the whole stroke is one step
    wait_mask(server, lung_task["annotation"], lambda m: not m.any())
    page.keyboard.press("Control+y")
    wait_mask(server, lung_task["annotation"], lambda m: np.array_equal(m, found))


def test_polygon_then_reload_shows_every_acknowledged_change(page: Page, server: LiveServer,
                                                             lung_task: dict) -> None:
    _open(page, server, lung_task)
    index = slice_index(page)
    use_tool(page, "polygon")
    click_points(page, [(150, 150), (150, 180), (180, 180), (180, 150)])
    page.mouse.move(*client_xy(page, 170, 140))  # the next edge follows the pointer
    page.wait_for_timeout(300)
    screenshot(page, "annotator-polygon-drawing")
    page.keyboard.press("Enter")
    found = wait_mask(server, lung_task["annotation"], lambda m: bool(m[index, 152:179, 152:179].all()))
    assert not found[index, 185:, 185:].any()
    screenshot(page, "annotator-polygon")
    page.reload()
    wait_frame(page)
    assert np.array_equal(mask(server, lung_task["annotation"]), found)


def test_layouts_each_view_its_plane_remembered_per_user(page: Page, server: LiveServer,
                                                         lung_task: dict) -> None:
    _open(page, server, lung_task)
    rest_pointer(page)
    screenshot(page, "annotator-layout-1")
    page.get_by_test_id("layout-2").click()
    expect(page.get_by_test_id("viewport-coronal")).to_be_visible()
    choose_plane(page, 1, "sagittal")
    wait_frame(page, "sagittal")
    rest_pointer(page)
    screenshot(page, "annotator-layout-2")
    page.get_by_test_id("layout-3").click()
    for plane in ("axial", "coronal", "sagittal"):
        wait_frame(page, plane)
    assert page.get_by_test_id("view-1").get_by_test_id("viewport-sagittal").is_visible()
    rest_pointer(page)
    screenshot(page, "annotator-layout-3")

    page.reload()  # the layout and the planes are this user's
    for position, plane in enumerate(("axial", "sagittal", "coronal")):
        expect(page.get_by_test_id(f"view-{position}").get_by_test_id(f"viewport-{plane}")).to_be_visible()
    page.keyboard.press("?")
    expect(page.get_by_test_id("shortcuts-help")).to_be_visible()
    screenshot(page, "annotator-three-views-help")
    page.keyboard.press("Escape")
    page.get_by_test_id("layout-3d").click()
    expect(page.get_by_test_id("viewport-3d")).to_be_visible()
    for plane in ("axial", "coronal", "sagittal"):
        wait_frame(page, plane)
    rest_pointer(page)
    screenshot(page, "annotator-layout-3d")
    set_layout(page, 1)


def test_labels_panel_hides_fades_and_shows_the_dicom_tags(page: Page, server: LiveServer,
                                                           lung_task: dict) -> None:
    _open(page, server, lung_task)
    row = page.get_by_test_id("label-row-Lung")
    expect(row).to_have_attribute("data-active", "true")
    expect(page.get_by_test_id("label-caption-Lung")).to_have_text("Editing")
    layer = page.get_by_test_id("viewport-axial").locator(".ls-stage > div.ls-layer").first
    expect(layer).to_be_visible()
    page.get_by_test_id("label-visible-Lung").click()
    expect(layer).to_be_hidden()
    page.get_by_test_id("label-visible-Lung").click()
    expect(layer).to_be_visible()
    slider = page.get_by_test_id("label-opacity-Lung")
    box = slider.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => parseFloat(document.querySelector('[data-testid=viewport-axial] .ls-stage > div.ls-layer')"
        ".style.opacity) > 0.8")
    expect(row).to_have_attribute("data-active", "true")  # the slider is not a click on the row

    page.get_by_test_id("image-tags").click()
    dialog = page.get_by_test_id("series-tags-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("series-tags-table")).to_contain_text("PatientID")
    expect(page.get_by_test_id("series-tags-table")).to_contain_text("DEMO-CT-01")


def test_a_second_tab_is_read_only_until_it_takes_over(browser: Browser, server: LiveServer,
                                                       lung_task: dict) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    first, second = context.new_page(), context.new_page()
    try:
        _open(first, server, lung_task)
        drag(first, [(60, 60), (60, 80)])
        wait_mask(server, lung_task["annotation"], lambda m: bool(m[:, 60, 62:79].any()))

        _open(second, server, lung_task, sign_in=False, editable=False)
        notice = second.get_by_test_id("read-only")
        expect(notice).to_contain_text("is editing it in another tab or window")
        expect(second.get_by_test_id("take-over")).to_be_visible()
        assert viewport(second, "tool") == "none"  # nothing to draw with here
        rest_pointer(second)
        screenshot(second, "annotator-read-only-second-tab")

        second.get_by_test_id("take-over").click()
        expect(notice).to_be_hidden()
        expect(second.get_by_test_id("take-over")).to_be_hidden()
        second.wait_for_function(
            "() => document.querySelector('[data-testid=viewport-axial]').__viewport.tool === 'brush'")
        before = mask(server, lung_task["annotation"])

        first.bring_to_front()
        drag(first, [(70, 60), (70, 80)])  # refused: the first tab lost its lease
        expect(first.locator(".q-notification", has_text="lost its lease")).to_be_visible()
        expect(first.get_by_test_id("read-only")).to_contain_text("is editing it in another tab")
        expect(first.get_by_test_id("take-over")).to_be_visible()
        screenshot(first, "annotator-take-over-notice")
        assert np.array_equal(mask(server, lung_task["annotation"]), before)

        second.bring_to_front()
        drag(second, [(80, 60), (80, 80)])  # the new editor's stroke is kept
        wait_mask(server, lung_task["annotation"], lambda m: bool(m[:, 80, 62:79].any()))
    finally:
        context.close()


def test_a_failed_save_is_shown_and_retried(page: Page, server: LiveServer, lung_task: dict) -> None:
    """The database refuses writes for a while (an exclusive lock on the SQLite file): the
    acknowledged stroke stays, the save shows as failed, and saves once writes work again."""
    _open(page, server, lung_task)
    annotation = lung_task["annotation"]
    index = slice_index(page)
    drag(page, [(200, 60), (200, 90)])
    wait_mask(server, annotation, lambda m: bool(m[index, 200, 62:89].all()))
    state = page.get_by_test_id("save-state")
    lock = sqlite3.connect(server.data_dir / "labelstack.db", timeout=30, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        expect(state).to_have_attribute("data-state", "error", timeout=60_000)
        expect(page.locator(".q-notification", has_text="Could not save").first).to_be_visible()
        screenshot(page, "annotator-save-failed")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    expect(state).to_have_attribute("data-state", "saved", timeout=30_000)
    revisions = api(server, token(server, "annotator"), "GET", f"/annotations/{annotation}/revisions").json()
    saved = api(server, token(server, "annotator"), "GET",
                f"/annotations/{annotation}/revisions/{revisions[-1]['sequence']}/mask")
    assert np.load(io.BytesIO(saved.content))[index, 200, 62:89].all()


def test_the_read_only_viewer_from_the_images_page(page: Page, server: LiveServer) -> None:
    ct, cine = series(server, "CT"), series(server, "US")
    login(page, server, "admin")
    page.goto(f"{server.url}/images")
    page.get_by_test_id(f"images-view-{ct['series_uid']}").click()
    expect(page).to_have_url(f"{server.url}/view/{ct['series_uid']}")
    wait_frame(page)
    expect(page.get_by_test_id("image-details")).to_contain_text("DEMO-CT-01")
    expect(page.get_by_test_id("tool-brush")).to_have_count(0)  # no drawing tools
    set_layout(page, 3)
    for plane in ("axial", "coronal", "sagittal"):
        wait_frame(page, plane)
    page.mouse.click(*client_xy(page, 100, 60))  # the crosshair: the other views follow
    page.wait_for_function("() => document.querySelector('[data-testid=viewport-coronal]')"
                           ".__viewport.frame.includes('index=100&')")
    page.wait_for_timeout(500)
    screenshot(page, "viewer-read-only")
    set_layout(page, 1)

    page.goto(f"{server.url}/view/{cine['series_uid']}")  # a cine: one view, frames, play
    wait_frame(page)
    expect(page.get_by_test_id("layout-3")).to_be_disabled()
    first = slice_index(page)
    page.get_by_test_id("cine-play").click()
    page.wait_for_function(f"() => !document.querySelector('[data-testid=viewport-axial]')"
                           f".__viewport.frame.includes('index={first}&')")
    page.get_by_test_id("cine-play").click()
    rest_pointer(page)
    screenshot(page, "viewer-cine")

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-email")).to_be_visible()
    login(page, server, "annotator")  # only the images of their own tasks
    page.goto(f"{server.url}/view/{ct['series_uid']}")
    wait_frame(page)
    page.goto(f"{server.url}/view/{cine['series_uid']}")
    expect(page.get_by_test_id("view-refused")).to_contain_text("not part of any of your tasks")


def test_others_cannot_open_the_task(page: Page, server: LiveServer, lung_task: dict) -> None:
    login(page, server, "reviewer")
    page.goto(f"{server.url}/task/{lung_task['task']['id']}")
    expect(page.get_by_test_id("task-refused")).to_contain_text(f"task {lung_task['task']['id']} not found")
    anonymous = httpx.get(f"{server.url}/viewer/render/anything")
    assert anonymous.status_code == 401
