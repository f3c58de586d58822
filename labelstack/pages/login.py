"""/login: the only page open without a session."""

from __future__ import annotations

from nicegui import ui

from labelstack.components.frame import ACCENT
from labelstack.components.session import browser_user, home_path, login_browser
from labelstack.db.session import session_scope
from labelstack.services import auth
from labelstack.services.errors import NotAuthenticated


@ui.page("/login")
def login_page(redirect_to: str = "") -> None:
    user = browser_user()
    if user is not None:
        ui.navigate.to(_safe_target(redirect_to) or home_path(user))
        return
    ui.page_title("Sign in · LabelStack")
    ui.colors(primary=ACCENT)
    ui.query("body").classes("bg-grey-2")

    async def submit() -> None:
        error.set_visibility(False)
        button.props("loading")
        try:
            with session_scope() as session:
                found = await auth.login(session, email.value or "", password.value or "")
        except NotAuthenticated as exc:
            error.set_text(exc.detail)
            error.set_visibility(True)
            password.set_value("")
            return
        finally:
            button.props(remove="loading")
        login_browser(found)
        ui.navigate.to(_safe_target(redirect_to) or home_path(found))

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


def _safe_target(target: str) -> str:
    """Only same-site paths, so the login page cannot be used to redirect elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else ""
