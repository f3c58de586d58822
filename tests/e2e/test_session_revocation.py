"""A password change or a deactivation ends the user's browser sessions, as it ends their
API tokens: the next page load goes to the login page, and reactivating the account does
not bring an old session back."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, api_client, screenshot, sign_in

PASSWORD = "first-password"


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    return request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client


def _new_annotator(api: httpx.Client) -> dict:
    reply = api.post("/users", json={"email": f"tab-{uuid.uuid4().hex[:8]}@radiology.local",
                                     "password": PASSWORD, "name": "Tab User",
                                     "roles": ["annotator"]})
    reply.raise_for_status()
    return reply.json()


def _sign_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    sign_in(page, server, email, password)
    expect(page).to_have_url(f"{server.url}/my-tasks")


def test_a_password_change_sends_the_browser_to_login(page: Page, server: LiveServer,
                                                      api: httpx.Client) -> None:
    user = _new_annotator(api)
    _sign_in(page, server, user["email"], PASSWORD)
    page.reload()
    expect(page).to_have_url(f"{server.url}/my-tasks")  # the session holds until the change

    api.patch(f"/users/{user['id']}", json={"password": "second-password"}).raise_for_status()
    page.goto(f"{server.url}/my-tasks")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    screenshot(page, f"session-ended-password-{server.database_url.split(':')[0]}")

    page.get_by_test_id("login-email").fill(user["email"])
    page.get_by_test_id("login-password").fill("second-password")
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{server.url}/my-tasks")  # a new sign-in holds again
    page.reload()
    expect(page).to_have_url(f"{server.url}/my-tasks")


def test_reactivating_does_not_revive_an_old_session(page: Page, server: LiveServer,
                                                     api: httpx.Client) -> None:
    user = _new_annotator(api)
    _sign_in(page, server, user["email"], PASSWORD)
    api.delete(f"/users/{user['id']}").raise_for_status()
    api.patch(f"/users/{user['id']}", json={"is_active": True}).raise_for_status()
    page.goto(f"{server.url}/my-tasks")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_test_id("login-submit")).to_be_visible()
