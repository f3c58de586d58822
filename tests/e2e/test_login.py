"""Signing in with a real browser: success, failure, navigation by role, sign-out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, login, screenshot

ADMIN_NAV = ["nav-tasks", "nav-labels", "nav-images", "nav-users", "nav-stats"]


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    return request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")


def test_pages_redirect_to_login_without_a_session(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/users")
    expect(page).to_have_url(f"{server.url}/login?redirect_to=%2Fusers")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    screenshot(page, f"login-{server.database_url.split(':')[0]}")


def test_wrong_password_shows_one_generic_message(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_test_id("login-email").fill(DEMO_LOGINS["admin"][0])
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("wrong e-mail or password")
    page.get_by_test_id("login-email").fill("nobody@example.org")
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("wrong e-mail or password")
    expect(page).to_have_url(f"{server.url}/login")
    expect(page.get_by_test_id("login-submit")).to_be_enabled()  # the second answer is in
    expect(page.get_by_test_id("login-submit").locator(".q-spinner")).to_have_count(0)
    screenshot(page, "login-error")


def test_admin_sees_admin_navigation(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    for testid in ADMIN_NAV:
        expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_test_id("nav-my-tasks")).to_have_count(0)
    page.get_by_test_id("nav-users").click()
    expect(page.get_by_test_id("users-table")).to_contain_text("annotator@demo.labelstack.org")
    screenshot(page, "users-admin")


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotator_and_reviewer_see_only_my_tasks(page: Page, server: LiveServer,
                                                  role: str) -> None:
    login(page, server, role)
    expect(page.get_by_test_id("nav-my-tasks")).to_be_visible()
    for testid in ADMIN_NAV:
        expect(page.get_by_test_id(testid)).to_have_count(0)
    screenshot(page, f"home-{role}")
    page.goto(f"{server.url}/users")
    expect(page.get_by_test_id("forbidden")).to_be_visible()


def test_logout_ends_the_session(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    page.goto(f"{server.url}/users")
    expect(page).to_have_url(f"{server.url}/login?redirect_to=%2Fusers")
