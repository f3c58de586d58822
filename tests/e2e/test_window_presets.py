"""The annotator's Window menu in Chromium: the file's own window first, the CT presets with their
W/L, and a preset chosen is the window the slice is rendered with."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.test_annotator import new_task, open_task, series

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    return live_server


def test_the_window_menu_lists_the_presets_and_applies_one(page: Page, server: LiveServer) -> None:
    ct = series(server, "CT")
    task = new_task(server, "window presets", [ct["id"]], [("Liver", "#aa3355")])
    open_task(page, server, task["task"]["id"], editable=False)
    page.get_by_test_id("window-preset").click()
    menu = page.locator(".q-menu .q-item")
    expect(menu.first).to_be_visible()
    labels = menu.all_inner_texts()
    assert labels[0].startswith("Default") and "Lung · W 1500 L -600" in labels
    assert labels[-1].startswith("Auto · W ")
    screenshot(page, "annotator-window-presets")
    with page.expect_request(lambda r: "/viewer/render/" in r.url and "wl=-600" in r.url
                             and "ww=1500" in r.url, timeout=20_000):
        menu.filter(has_text="Lung · W 1500 L -600").click()
