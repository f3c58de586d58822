"""Who is logged in to this browser: the user id lives in NiceGUI's signed user storage."""

from __future__ import annotations

from nicegui import app, ui

from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services import users
from labelstack.services.security import has_role

SESSION_KEY = "user_id"


def login_browser(user: User) -> None:
    app.storage.user[SESSION_KEY] = user.id


def logout_browser() -> None:
    app.storage.user.clear()
    ui.navigate.to("/login")


def browser_user() -> User | None:
    """The active user of this browser session, reloaded so a deactivation takes effect at once."""
    user_id = app.storage.user.get(SESSION_KEY)
    if user_id is None:
        return None
    with session_scope() as session:
        user = users.active_user(session, user_id)
    if user is None:
        app.storage.user.clear()
        return None
    return user


def home_path(user: User) -> str:
    return "/tasks" if has_role(user, "admin") else "/my-tasks"
