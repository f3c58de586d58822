"""/login: the only page open without a session."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nicegui import ui

from labelstack.components.frame import ACCENT
from labelstack.components.session import browser_user, home_path, login_browser
from labelstack.db.session import session_scope
from labelstack.services.accounts import auth
from labelstack.services.errors import NotAuthenticated

SAFE_PATH = re.compile(r"/(?![/\\])[^\s\\]*")


@ui.page("/login")
def login_page(redirect_to: str = "") -> None:
    user = browser_user()
    if user is not None:
        ui.navigate.to(safe_target(redirect_to) or home_path(user))
        return
    ui.page_title("Sign in · LabelStack")
    ui.colors(primary=ACCENT)
    ui.query("body").classes("bg-grey-2")

    async def submit() -> None:
        error.set_visibility(False)
        button.props("loading")
        try:
            with session_scope() as session:
                found = await auth.login(session, email.value or "", password.value or "",
                                         source=_client_address())
        except NotAuthenticated as exc:
            error.set_text(exc.detail)
            error.set_visibility(True)
            password.set_value("")
            return
        finally:
            button.props(remove="loading")
        login_browser(found)
        ui.navigate.to(safe_target(redirect_to) or home_path(found))

    with ui.card().classes("absolute-center w-96 p-8 gap-4"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("layers", size="36px", color="primary")
            ui.label("LabelStack").classes("text-h5 font-semibold")
        ui.label("Sign in to annotate and review medical images.").classes("text-grey-7")
        email = ui.input("E-mail").props("outlined autofocus data-testid=login-email") \
            .classes("w-full")
        password = ui.input("Password", password=True, password_toggle_button=True) \
            .props("outlined data-testid=login-password").classes("w-full")
        error = ui.label().classes("text-negative").props("data-testid=login-error")
        error.set_visibility(False)
        button = ui.button("Sign in", on_click=submit).props(
            "unelevated no-caps data-testid=login-submit").classes("w-full")
        password.on("keydown.enter", submit)
        email.on("keydown.enter", lambda: password.run_method("focus"))


def safe_target(target: str) -> str:
    """Only a plain same-site path, so the login page cannot send anyone elsewhere: browsers
    read a backslash as a slash and drop tabs and newlines, so "/\\evil" or "/<tab>/evil" would
    leave the site."""
    if not SAFE_PATH.fullmatch(target):
        return ""
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else ""


def _client_address() -> str:
    """The page request's client: behind a trusted proxy, the one it names (api/forwarded.py)."""
    request = ui.context.client.request
    return request.client.host if request is not None and request.client else ""
