"""In the browser too, a task someone may not see looks like one that does not exist."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, login, screenshot


def _someone_elses_annotation_task(server: LiveServer) -> int:
    email, password = DEMO_LOGINS["admin"]
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as api:
        token = api.post("/auth/token", data={"username": email, "password": password})
        api.headers["Authorization"] = f"Bearer {token.raise_for_status().json()['access_token']}"
        found = api.get("/tasks", params={"type": "annotation", "page_size": 100})
        return found.raise_for_status().json()["items"][0]["id"]


def test_someone_elses_task_is_refused_like_a_missing_one(page: Page,
                                                         live_server: LiveServer) -> None:
    task_id = _someone_elses_annotation_task(live_server)
    login(page, live_server, "reviewer")  # annotation tasks are annotators' work
    texts = []
    for shown in (task_id, 999_999):
        page.goto(f"{live_server.url}/task/{shown}")
        refused = page.get_by_test_id("task-refused")
        expect(refused).to_contain_text(f"task {shown} not found")
        texts.append(refused.inner_text().replace(str(shown), "N"))
    screenshot(page, "task-refused-hidden")
    assert texts[0] == texts[1]
