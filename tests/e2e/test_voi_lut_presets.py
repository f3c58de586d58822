"""A file's VOI LUT table chosen in the annotator's Window menu is the table the slice is
rendered with (the browser route passes `table=k` on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.test_annotator import api, new_task, open_task, token
from tests.unit.imaging.test_display_pipeline import stored_image, voi_table

pytestmark = pytest.mark.browser


def _two_table_series(server: LiveServer, tmp_path: Path) -> int:
    stored = (np.arange(128 * 128, dtype=np.uint16) % 4096).reshape(128, 128)
    rng = np.random.default_rng(5)
    tables = [voi_table(0, np.sort(rng.integers(0, 4096, 4096)), 12, "NORMAL"),
              voi_table(0, np.sort(rng.integers(0, 256, 4096))[::-1], 8, "HARDER")]
    ds = stored_image(stored, BitsStored=12, HighBit=11, VOILUTSequence=tables)
    ds.PatientID, ds.PatientName = "VOI-E2E", "Voi^Table"
    path = tmp_path / "voi.dcm"
    ds.save_as(path, enforce_file_format=True)
    admin = token(server, "admin")
    api(server, admin, "POST", "/dicom", files=[("files", (path.name, path.read_bytes(),
                                                           "application/dicom"))])
    found = api(server, admin, "GET", "/series", params={"limit": 200}).json()["items"]
    return next(s["id"] for s in found if s["series_uid"] == str(ds.SeriesInstanceUID))


def test_a_voi_lut_table_preset_renders_that_table(page: Page, live_server: LiveServer,
                                                   tmp_path: Path) -> None:
    task = new_task(live_server, "voi tables", [_two_table_series(live_server, tmp_path)],
                    [("Spot", "#33aa55")])
    open_task(page, live_server, task["task"]["id"], editable=False)
    page.get_by_test_id("window-preset").click()
    menu = page.locator(".q-menu .q-item")
    expect(menu.filter(has_text="HARDER (VOI LUT)")).to_be_visible()
    with page.expect_response(lambda r: "/viewer/render/" in r.url and "table=1" in r.url,
                              timeout=20_000) as answer:
        menu.filter(has_text="HARDER (VOI LUT)").click()
    assert answer.value.status == 200 and answer.value.headers["content-type"] == "image/jpeg"
    # the corner names the table: a window's W/L would describe no table
    expect(page.locator(".ls-text").filter(has_text="HARDER (VOI LUT)")).to_be_visible()
    page.wait_for_timeout(500)
    screenshot(page, "annotator-voi-lut-table")
