"""The Images page in a real browser: demo series with thumbnails, filters, tags, upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pydicom.data import get_testdata_file

from tests.e2e.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def test_images_page_lists_filters_shows_tags_and_uploads(page: Page, live_server: LiveServer,
                                                          tmp_path: Path) -> None:
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/images")
    table = page.get_by_test_id("images-table")
    expect(table).to_contain_text("Axial CT phantom")
    expect(table).to_contain_text("CompressedSamples^MR1")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=images-thumbnail]')]"
                           ".every(i => i.src.startsWith('data:image/jpeg'))", timeout=60_000)
    screenshot(page, "images")

    page.get_by_test_id("images-filter-patient").fill("DEMO-CT")
    page.get_by_test_id("images-filter-patient").press("Enter")
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_test_id("images-filter-patient").fill("")
    page.get_by_test_id("images-filter-patient").press("Enter")
    page.get_by_test_id("images-filter-modality").click()
    page.get_by_role("option", name="MR", exact=True).click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("4MR1")

    table.locator("[data-testid^=images-tags-]").first.click()
    dialog = page.get_by_test_id("series-tags-dialog")
    expect(dialog).to_contain_text("PatientID")
    dialog.get_by_test_id("series-tags-filter").fill("(0028,0010)")
    expect(dialog.locator("tbody.q-virtual-scroll__content")).to_contain_text("Rows")
    expect(dialog.locator("tbody.q-virtual-scroll__content")).not_to_contain_text("PatientID")
    page.keyboard.press("Escape")

    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")
    page.get_by_test_id("images-upload-open").click()
    page.get_by_test_id("images-upload").locator("input[type=file]").set_input_files(
        [get_testdata_file("CT_small.dcm"), str(junk)])
    summary = page.get_by_test_id("images-report-summary")
    expect(summary).to_contain_text("rejected", timeout=30_000)
    expect(page.get_by_test_id("images-report")).to_contain_text("not a DICOM file")
    screenshot(page, "images-upload")
