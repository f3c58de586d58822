"""Opening a series that is still loading, in real Chromium: the viewer shows the middle slice
and the load's progress at once, and the slice views once the volume is whole. The app's
store holds the series read back until the test releases it (`tests/e2e/loading_app.py`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import free_port, screenshot
from tests.e2e.loading_app import (
    EMAIL,
    HOLD_AFTER,
    PASSWORD,
    SERIES_UID,
    SLICES,
    TASK_NAME,
    running,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def loading_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running(Path(tmp_path_factory.mktemp("loading")), free_port()) as url:
        yield url


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_test_id("login-email").fill(EMAIL)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("page-title").wait_for()


def test_the_viewer_shows_the_first_slice_and_progress_while_the_series_loads(
        page: Page, loading_app: str) -> None:
    httpx.post(f"{loading_app}/test/forget")
    _sign_in(page, loading_app)
    page.goto(f"{loading_app}/view/{SERIES_UID}")
    progress = page.get_by_test_id("series-progress")
    expect(progress).to_be_visible()
    fraction = round(100 * 0.9 * HOLD_AFTER / SLICES)
    expect(page.get_by_test_id("series-progress-text")).to_have_text(
        f"{fraction}% · {HOLD_AFTER} of {SLICES} images")
    first = page.get_by_test_id("series-first-slice").locator("img")
    page.wait_for_function("el => el.complete && el.naturalWidth === 256", arg=first.element_handle())
    expect(page.get_by_test_id("viewport-axial")).to_have_count(0)
    screenshot(page, "viewer-loading")

    reads = httpx.post(f"{loading_app}/test/release").json()["series_reads"]
    expect(page.get_by_test_id("viewport-axial")).to_be_visible()
    expect(progress).to_have_count(0)
    expect(page.get_by_test_id("slice-count")).to_have_text(re.compile(rf"\(0–{SLICES - 1}\)"))
    screenshot(page, "viewer-loaded")
    assert httpx.post(f"{loading_app}/test/release").json()["series_reads"] == reads


def test_the_annotator_shows_progress_while_its_image_loads(page: Page, loading_app: str) -> None:
    httpx.post(f"{loading_app}/test/forget")
    _sign_in(page, loading_app)
    page.goto(f"{loading_app}/task/1")
    expect(page.get_by_test_id("page-title")).to_have_text(TASK_NAME)
    progress = page.get_by_test_id("series-progress")
    expect(progress).to_be_visible()
    expect(page.get_by_test_id("series-progress-text")).to_contain_text(f"of {SLICES} images")
    first = page.get_by_test_id("series-first-slice").locator("img")
    page.wait_for_function("el => el.complete && el.naturalWidth === 256", arg=first.element_handle())
    screenshot(page, "annotator-loading")

    httpx.post(f"{loading_app}/test/release")
    expect(page.get_by_test_id("viewport-axial")).to_be_visible()
    expect(progress).to_have_count(0)
    screenshot(page, "annotator-loaded")


def test_a_load_that_fails_says_why_in_the_viewer(page: Page, loading_app: str) -> None:
    httpx.post(f"{loading_app}/test/forget")
    _sign_in(page, loading_app)
    page.goto(f"{loading_app}/view/{SERIES_UID}")
    expect(page.get_by_test_id("series-progress")).to_be_visible()
    httpx.post(f"{loading_app}/test/fail", params={"reason": "the PACS went away"})
    expect(page.get_by_test_id("view-refused")).to_have_text("the PACS went away")
    expect(page.get_by_test_id("series-progress")).to_have_count(0)
    screenshot(page, "viewer-load-failed")
    httpx.post(f"{loading_app}/test/forget")
    httpx.post(f"{loading_app}/test/release")
    page.get_by_test_id("view-retry").click()
    expect(page.get_by_test_id("viewport-axial")).to_be_visible()
