"""The annotator in Chromium: paint, draw shapes, undo, shortcuts; the mask from the API
has exactly the voxels drawn, and what was acknowledged survives a reload."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(start_server) -> LiveServer:  # noqa: ANN001
    """A demo of its own: these tests start and paint its lung task."""
    return start_server()


def _token(server: LiveServer, role: str) -> dict[str, str]:
    email, password = DEMO_LOGINS[role]
    r = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": email, "password": password})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def lung_task(server: LiveServer) -> dict:
    headers = _token(server, "annotator")
    tasks = httpx.get(f"{server.url}/api/v1/tasks", params={"q": "outline the lungs"},
                      headers=headers).json()["items"]
    task = tasks[0]
    r = httpx.post(f"{server.url}/api/v1/tasks/{task['id']}/status",
                   json={"status": "in_progress"}, headers=headers)
    assert r.status_code == 200, r.text
    annotations = httpx.get(f"{server.url}/api/v1/annotations", params={"task_id": task["id"]},
                            headers=headers).json()
    return {"task": task, "annotation": annotations[0]["id"], "headers": headers}


def _mask(server: LiveServer, lung_task: dict) -> np.ndarray:
    r = httpx.get(f"{server.url}/api/v1/annotations/{lung_task['annotation']}/mask",
                  headers=lung_task["headers"])
    assert r.status_code == 200, r.text
    return np.load(io.BytesIO(r.content))


def _client_xy(page: Page, testid: str, row: float, col: float) -> tuple[float, float]:
    point = page.get_by_test_id(testid).evaluate(
        "(el, rc) => el.__viewport.imageToClient(rc[0], rc[1])", [row, col])
    return point["x"], point["y"]


def _open(page: Page, server: LiveServer, lung_task: dict) -> None:
    login(page, server, "annotator")
    page.goto(f"{server.url}/task/{lung_task['task']['id']}")
    expect(page.get_by_test_id("viewport-axial")).to_be_visible()
    page.wait_for_function(
        "() => { const el = document.querySelector('[data-testid=viewport-axial]');"
        " return el && el.__viewport && el.__viewport.frame }", timeout=30_000)


SLICE_INPUT = "input[data-testid=slice-index], [data-testid=slice-index] input"


def _slice(page: Page) -> int:
    return int(page.locator(SLICE_INPUT).first.input_value())


def test_brush_in_axial_lands_on_the_voxels_under_the_pointer(page: Page, server: LiveServer,
                                                              lung_task: dict) -> None:
    _open(page, server, lung_task)
    index = _slice(page)
    page.get_by_test_id("tool-brush").click()
    start, end = _client_xy(page, "viewport-axial", 100, 90), _client_xy(page, "viewport-axial", 100, 130)
    page.mouse.move(*start)
    page.mouse.down()
    for t in np.linspace(0, 1, 12):
        page.mouse.move(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
    page.mouse.up()
    page.wait_for_timeout(800)
    screenshot(page, "annotator-brush")
    mask = _mask(server, lung_task)
    z, rows, cols = np.nonzero(mask)
    assert set(z) == {index}
    assert mask[index, 100, 90:131].all()  # the stroke's centre line, acknowledged = in the mask
    assert rows.min() >= 100 - 6 and rows.max() <= 100 + 6  # 3 mm radius at ≈1.3 mm pixels
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved", timeout=20_000)

    page.keyboard.press("Control+z")  # the whole stroke is one step
    page.wait_for_timeout(800)
    assert not _mask(server, lung_task).any()
    page.keyboard.press("Control+y")
    page.wait_for_timeout(800)
    assert np.array_equal(_mask(server, lung_task), mask)


def test_polygon_then_reload_shows_every_acknowledged_change(page: Page, server: LiveServer,
                                                             lung_task: dict) -> None:
    _open(page, server, lung_task)
    index = _slice(page)
    page.get_by_test_id("tool-polygon").click()
    for row, col in ((150, 150), (150, 180), (180, 180), (180, 150)):
        page.mouse.click(*_client_xy(page, "viewport-axial", row, col))
        page.wait_for_timeout(700)  # apart, so two clicks never count as the closing double click
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    mask = _mask(server, lung_task)
    assert mask[index, 152:179, 152:179].all() and not mask[index, 185:, 185:].any()
    screenshot(page, "annotator-polygon")
    page.reload()
    expect(page.get_by_test_id("viewport-axial")).to_be_visible()
    assert np.array_equal(_mask(server, lung_task), mask)


def test_layouts_and_the_shortcuts_help(page: Page, server: LiveServer, lung_task: dict) -> None:
    _open(page, server, lung_task)
    page.get_by_test_id("layout-3").click()
    for plane in ("axial", "coronal", "sagittal"):
        expect(page.get_by_test_id(f"viewport-{plane}")).to_be_visible()
    page.keyboard.press("?")
    expect(page.get_by_test_id("shortcuts-help")).to_be_visible()
    screenshot(page, "annotator-three-views-help")
    page.keyboard.press("Escape")
    before = _slice(page)
    page.keyboard.press("ArrowUp")
    expect(page.locator(SLICE_INPUT).first).to_have_value(str(before + 1))


def test_others_cannot_open_the_task(page: Page, server: LiveServer, lung_task: dict) -> None:
    login(page, server, "reviewer")
    page.goto(f"{server.url}/task/{lung_task['task']['id']}")
    expect(page.get_by_test_id("task-refused")).to_contain_text("not your task")
    anonymous = httpx.get(f"{server.url}/viewer/render/anything")
    assert anonymous.status_code == 401
