"""An open tab acts as the user of now, not the user who loaded it: demoted, deactivated or
signed out elsewhere, its next click is refused and changes nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, api_client, screenshot, sign_in

PASSWORD = "stale-tab-admin"


@pytest.fixture(scope="module")
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    """A server of its own: these tests demote and deactivate admins."""
    return start_server()


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    """The REST API as the demo admin (another admin than the one in the browser)."""
    with api_client(server) as client:
        yield client


def _new_admin(api: httpx.Client) -> dict:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    reply = api.post("/users", json={"email": email, "password": PASSWORD, "name": "Tab Admin",
                                     "roles": ["admin"]})
    reply.raise_for_status()
    return reply.json()


def _sign_in(page: Page, server: LiveServer, email: str, path: str) -> None:
    sign_in(page, server, email, PASSWORD, redirect_to=path)
    expect(page).to_have_url(f"{server.url}{path}")


def _label_names(api: httpx.Client) -> set[str]:
    reply = api.get("/labels", params={"include_archived": True})
    reply.raise_for_status()
    return {label["name"] for label in reply.json()}


def test_a_demoted_admin_cannot_create_a_label_from_an_open_tab(
        page: Page, server: LiveServer, api: httpx.Client) -> None:
    admin = _new_admin(api)
    _sign_in(page, server, admin["email"], "/labels")
    expect(page.get_by_test_id("labels-table")).to_contain_text("Lesion")
    page.get_by_test_id("labels-new").click()
    dialog = page.get_by_test_id("label-dialog")
    name = f"Stale {uuid.uuid4().hex[:6]}"
    dialog.get_by_test_id("label-name").fill(name)

    api.patch(f"/users/{admin['id']}", json={"roles": ["annotator"]}).raise_for_status()
    dialog.get_by_test_id("label-save").click()

    expect(dialog.get_by_test_id("label-error")).to_contain_text(
        "You no longer have the admin role this page needs")
    expect(dialog).to_be_visible()
    screenshot(page, "stale-tab-demoted-admin")
    assert name not in _label_names(api)


def test_a_deactivated_admin_cannot_add_a_user_and_is_sent_to_login(
        page: Page, server: LiveServer, api: httpx.Client) -> None:
    admin = _new_admin(api)
    _sign_in(page, server, admin["email"], "/users")
    expect(page.get_by_test_id("users-table")).to_contain_text(admin["email"])
    page.get_by_test_id("users-add").click()
    email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    page.get_by_test_id("user-email").fill(email)
    page.get_by_test_id("user-password").fill("a-long-password")

    api.delete(f"/users/{admin['id']}").raise_for_status()
    page.get_by_test_id("user-save").click()

    expect(page.get_by_test_id("user-error")).to_contain_text("Your session has ended")
    emails = {u["email"] for u in api.get("/users").raise_for_status().json()}
    assert email not in emails
    expect(page).to_have_url(re.compile(r"/login"), timeout=20_000)  # the session watch


def test_signing_out_in_one_tab_ends_the_others(page: Page, server: LiveServer,
                                                api: httpx.Client) -> None:
    admin = _new_admin(api)
    _sign_in(page, server, admin["email"], "/labels")
    expect(page.get_by_test_id("labels-table")).to_contain_text("Lesion")
    page.get_by_test_id("labels-new").click()
    name = f"Orphan {uuid.uuid4().hex[:6]}"
    page.get_by_test_id("label-name").fill(name)

    other = page.context.new_page()  # a second tab of the same browser
    other.goto(f"{server.url}/tasks")
    other.get_by_test_id("user-menu").click()
    other.get_by_test_id("logout").click()
    expect(other.get_by_test_id("login-submit")).to_be_visible()

    page.get_by_test_id("label-save").click()
    # Refused at once, or (should the session watch win the race) already sent to /login.
    expect(page.get_by_test_id("label-error").or_(page.get_by_test_id("login-submit"))) \
        .to_contain_text(re.compile(r"Your session has ended|Sign in"))
    expect(page).to_have_url(re.compile(r"/login"), timeout=20_000)
    assert name not in _label_names(api)
