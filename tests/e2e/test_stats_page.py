"""The Statistics page in Chromium: the chart follows the work done, every table exports
as the CSV of what it shows, and the activity feed reads as sentences with links."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, login, screenshot

CHART_SERIES = """() => {
  const el = document.querySelector('[data-testid=stats-chart]');
  const option = getElement(el.id.slice(1)).chart.getOption();
  return Object.fromEntries(option.series.map(s => [s.name, s.data]));
}"""


@pytest.fixture(scope="module")
def server(start_server) -> Iterator[LiveServer]:
    """A demo of its own: the test saves work the other pages' tests do not expect."""
    yield start_server()


def _headers(server: LiveServer, role: str) -> dict[str, str]:
    email, password = DEMO_LOGINS[role]
    r = httpx.post(f"{server.url}/api/v1/auth/token",
                   data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _save_lung_outline(server: LiveServer) -> int:
    """The annotator starts the lung task and saves a mask through the API; its task id."""
    api = f"{server.url}/api/v1"
    headers = _headers(server, "annotator")
    task = httpx.get(f"{api}/tasks", params={"q": "outline the lungs"},
                     headers=headers).json()["items"][0]
    if task["status"] == "open":
        r = httpx.post(f"{api}/tasks/{task['id']}/status", json={"status": "in_progress"},
                       headers=headers)
        assert r.status_code == 200, r.text
    annotation = httpx.get(f"{api}/annotations", params={"task_id": task["id"]},
                           headers=headers).json()[0]["id"]
    mask = np.load(io.BytesIO(httpx.get(f"{api}/annotations/{annotation}/mask",
                                        headers=headers, timeout=30).content))
    mask[:, :8, :8] = ~mask[:, :8, :8]
    body = io.BytesIO()
    np.save(body, mask)
    r = httpx.post(f"{api}/annotations/{annotation}/revisions", params={"time_spent": 600},
                   content=body.getvalue(), headers={**headers,
                                                     "Content-Type": "application/octet-stream"},
                   timeout=30)
    assert r.status_code == 201, r.text
    return task["id"]


def _chart(page: Page) -> dict[str, list[float]]:
    page.wait_for_function("() => { const el = document.querySelector("
                           "'[data-testid=stats-chart]'); return el && getElement("
                           "el.id.slice(1)).chart; }")
    return page.evaluate(CHART_SERIES)


def _open_stats(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/stats")
    expect(page.get_by_test_id("stats-table")).to_contain_text("Ann Notator")
    expect(page.get_by_test_id("audit-table")).to_contain_text("created")


def test_chart_and_feed_follow_the_work_done(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    _open_stats(page, server)
    page.get_by_test_id("stats-metric").get_by_text("Annotations saved").click()
    before = _chart(page)
    expect(page.get_by_test_id("overview-saved")).to_be_visible()
    saved_before = int(page.get_by_test_id("overview-saved").inner_text().split()[-1])

    task_id = _save_lung_outline(server)

    _open_stats(page, server)
    page.get_by_test_id("stats-metric").get_by_text("Annotations saved").click()
    page.wait_for_function(f"() => ({CHART_SERIES})()['Ann Notator']?.reduce((a, b) => a + b, 0)"
                           f" > {sum(before.get('Ann Notator', [0]))}")
    after = _chart(page)
    assert sum(after["Ann Notator"]) == sum(before.get("Ann Notator", [0])) + 1
    assert after["Ann Notator"][-1] == before.get("Ann Notator", [0])[-1] + 1  # today's bar
    expect(page.get_by_test_id("overview-saved")).to_contain_text(str(saved_before + 1))

    page.get_by_test_id("stats-period").get_by_text("Per week").click()
    page.wait_for_function(f"() => ({CHART_SERIES})()['Ann Notator'].length <= 6")
    assert sum(_chart(page)["Ann Notator"]) == sum(after["Ann Notator"])
    page.get_by_test_id("stats-metric").get_by_text("Active time (hours)").click()
    page.wait_for_function(f"() => ({CHART_SERIES})()['Ann Notator'].at(-1) >= 0.16")  # 600 s

    feed = page.get_by_test_id("activity-feed")
    saved = feed.get_by_role("row").filter(has_text="Ann Notator saved the Lung annotation")
    expect(saved.first).to_contain_text("in task 'Demo: outline the lungs'")
    expect(saved.first.get_by_role("link", name="task 'Demo: outline the lungs'")) \
        .to_have_attribute("href", f"/tasks/{task_id}")
    expect(saved.first.get_by_role("link").last).to_have_attribute("href", f"/tasks/{task_id}")
    expect(feed).not_to_contain_text("{")  # no raw JSON
    screenshot(page, "stats-after-work")


def _shown(table: Locator) -> list[list[str]]:
    header = [c.inner_text().replace("arrow_upward", "").strip()  # the sort icon's ligature
              for c in table.locator("thead th").all()]
    rows = [[c.inner_text().strip() for c in row.locator("td").all()]
            for row in table.locator("tbody tr").all()]
    return [header, *rows]


@pytest.mark.parametrize("section", ["stats-users", "activity-feed"])
def test_csv_export_downloads_the_table_shown(page: Page, server: LiveServer,
                                              section: str) -> None:
    login(page, server, "admin")
    _open_stats(page, server)
    part = page.get_by_test_id(section)
    table = part.locator("table")
    if section == "stats-users":  # sorted in the browser, by name from Z to A
        first = table.locator("tbody tr").first.inner_text()
        for _ in range(2):
            table.locator("thead th").first.click()
        expect(table.locator("tbody tr").first).not_to_have_text(first)
    shown = _shown(table)
    assert len(shown) > 2
    with page.expect_download() as info:
        part.get_by_test_id("stats-export").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as f:
        exported = list(csv.reader(f))
    assert exported == shown


def test_a_person_in_the_feed_links_to_their_activity(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    _open_stats(page, server)
    feed = page.get_by_test_id("audit-table")
    feed.get_by_role("link", name="Ann Notator").first.click()
    page.wait_for_url("**/stats?user=*")
    expect(page.get_by_test_id("audit-filter-user")).to_contain_text("Ann Notator")
    expect(feed.get_by_role("row").nth(1)).to_contain_text("Ann Notator")
    expect(feed).not_to_contain_text("Ada Admin created")


def test_a_period_without_work_shows_empty_and_bad_dates_say_why(page: Page,
                                                                  server: LiveServer) -> None:
    login(page, server, "admin")
    _open_stats(page, server)
    page.get_by_test_id("stats-from").fill("2001-01-01")
    page.get_by_test_id("stats-to").fill("2001-01-31")
    page.wait_for_function(f"() => Object.keys(({CHART_SERIES})()).length === 0")
    expect(page.get_by_test_id("overview-saved")).to_contain_text("0")
    expect(page.get_by_test_id("stats-outcomes-annotator").get_by_test_id("empty-state")) \
        .to_contain_text("No decided reviews in this period")
    title = page.evaluate("() => getElement(document.querySelector('[data-testid=stats-chart]')"
                          ".id.slice(1)).chart.getOption().title[0].text")
    assert title == "No work in this period"
    screenshot(page, "stats-empty-period")
    page.get_by_test_id("stats-to").fill("2000-12-01")
    expect(page.get_by_text("The period ends before it starts.")).to_be_visible()
    page.get_by_test_id("stats-to").fill("2031-01-01")
    expect(page.get_by_text("Choose at most 3660 days (about ten years).")).to_be_visible()
    page.get_by_test_id("stats-to").fill("soon")
    expect(page.get_by_text("'soon' is not a date (YYYY-MM-DD)")).to_be_visible()
    page.get_by_test_id("stats-to").fill("2001-01-31")
    expect(page.get_by_text("is not a date")).to_have_count(0)
