"""The Images page in a real browser: demo series with thumbnails, filters, tags, upload."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from pydicom.data import get_testdata_file

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, login, screenshot
from tests.phantoms import ct_datasets

pytestmark = pytest.mark.browser


def test_images_page_lists_filters_shows_tags_and_uploads(page: Page, live_server: LiveServer,
                                                          tmp_path: Path) -> None:
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/images")
    table = page.get_by_test_id("images-table")
    expect(table).to_contain_text("Axial CT phantom")
    expect(table).to_contain_text("CompressedSamples MR1")  # a DICOM name, as people write it
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


PAGING_SERIES = 25


@pytest.fixture(scope="module")
def paging_server(start_server: Callable[..., LiveServer],
                  tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    """A demo server of its own with 25 more one-image series, so the shared one keeps the
    image counts the other browser tests expect."""
    server = start_server()
    archive = tmp_path_factory.mktemp("paging") / "paging.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for n in range(1, PAGING_SERIES + 1):
            (ds,) = ct_datasets(shape=(1, 16, 16), patient_id=f"PAGING-{n:02d}", seed=n)
            ds.PatientName = f"Paging^{n:02d}"
            ds.StudyDate = f"2019{(n - 1) // 28 + 1:02d}{(n - 1) % 28 + 1:02d}"
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            z.writestr(f"paging/{n:02d}.dcm", buffer.getvalue())
    email, password = DEMO_LOGINS["admin"]
    token = httpx.post(f"{server.url}/api/v1/auth/token",
                       data={"username": email, "password": password}).json()["access_token"]
    r = httpx.post(f"{server.url}/api/v1/dicom", headers={"Authorization": f"Bearer {token}"},
                   files=[("files", ("paging.zip", archive.read_bytes(), "application/zip"))],
                   timeout=120)
    assert r.status_code == 200 and r.json()["summary"]["stored"] == PAGING_SERIES, r.text
    return server


def _patients(table: Locator) -> list[str]:
    return table.locator("tbody tr td:nth-child(3)").all_inner_texts()  # after tick, thumbnail


def test_images_page_pages_sorts_and_filters_on_the_server(page: Page,
                                                           paging_server: LiveServer) -> None:
    total = 4 + PAGING_SERIES  # the demo's series and ours
    login(page, paging_server, "admin")
    page.goto(f"{paging_server.url}/images")
    table = page.get_by_test_id("images-table")
    expect(page.get_by_test_id("images-total")).to_have_text(f"{total} series")
    expect(table.locator("tbody tr")).to_have_count(20)
    expect(table.locator(".q-table__bottom")).to_contain_text(f"1-20 of {total}")
    first = _patients(table)
    # newest study first: the demo's studies, then ours from the latest date down
    assert "Paging 25 (PAGING-25)" in first and "Paging 01 (PAGING-01)" not in first

    table.locator(".q-table__bottom button").last.click()  # next page
    expect(table.locator(".q-table__bottom")).to_contain_text(f"21-{total} of {total}")
    expect(table.locator("tbody tr")).to_have_count(total - 20)
    second = _patients(table)
    assert not set(second) & set(first) and "Paging 01 (PAGING-01)" in second
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=images-thumbnail]')]"
                           ".every(i => i.src.startsWith('data:image/jpeg'))", timeout=60_000)
    page.evaluate("window.scrollTo(0, 0)")  # the header is fixed: shoot from the top
    screenshot(page, "images-page-2")

    # a filter goes back to the first page
    page.get_by_test_id("images-filter-patient").fill("paging")
    page.get_by_test_id("images-filter-patient").press("Enter")
    expect(page.get_by_test_id("images-total")).to_have_text(f"{PAGING_SERIES} series")
    expect(table.locator(".q-table__bottom")).to_contain_text(f"1-20 of {PAGING_SERIES}")
    expect(table.locator("tbody tr").first).to_contain_text("PAGING-25")

    # sorting is the server's: by patient, ascending, across pages
    table.locator("thead th", has_text="Patient").click()
    expect(table.locator("tbody tr").first).to_contain_text("PAGING-01")
    expect(table.locator("tbody tr")).to_have_count(20)
    table.locator(".q-table__bottom button").last.click()
    expect(table.locator(".q-table__bottom")).to_contain_text(f"21-{PAGING_SERIES} of")
    expect(table.locator("tbody tr").first).to_contain_text("PAGING-21")
    assert _patients(table) == [f"Paging {n} (PAGING-{n})" for n in range(21, 26)]
    for name in ("Study", "Series", "Size"):  # columns the service cannot sort by
        expect(table.locator("thead th", has_text=name)).not_to_have_class(re.compile("sortable"))

    # the modality filter resets the page too, and the tags still open from page 1
    page.get_by_test_id("images-filter-patient").fill("")
    page.get_by_test_id("images-filter-patient").press("Enter")
    page.get_by_test_id("images-filter-modality").click()
    page.get_by_role("option", name="MR", exact=True).click()
    expect(page.get_by_test_id("images-total")).to_have_text("1 series")
    expect(table.locator(".q-table__bottom")).to_contain_text("1-1 of 1")
    table.locator("[data-testid^=images-tags-]").first.click()
    expect(page.get_by_test_id("series-tags-dialog")).to_contain_text("PatientID")
