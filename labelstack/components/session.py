"""Who is logged in to this browser: the user id lives in NiceGUI's signed user storage,
with the user's session generation at sign-in; a password change or deactivation bumps the
generation (services/accounts/users.py), which ends every browser session signed in before."""

from __future__ import annotations

from nicegui import app, run, ui

from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.accounts import users
from labelstack.services.errors import Forbidden, NotAuthenticated
from labelstack.services.security import has_role

SESSION_KEY = "user_id"
GENERATION_KEY = "session_generation"
SESSION_ENDED = ("Your session has ended (signed out, deactivated or password changed): "
                 "sign in again")


def login_browser(user: User) -> None:
    app.storage.user[SESSION_KEY] = user.id
    app.storage.user[GENERATION_KEY] = user.session_generation


def logout_browser() -> None:
    app.storage.user.clear()
    ui.navigate.to("/login")


def browser_user() -> User | None:
    """The active user of this browser session, reloaded so a deactivation takes effect at once."""
    user_id = app.storage.user.get(SESSION_KEY)
    if user_id is None:
        return None
    user = _active_user(user_id, _generation())
    if user is None:
        app.storage.user.clear()
    return user


async def current_actor(*roles: Role) -> User:
    """The user acting in this event handler, reloaded from the database for each action.

    A page is built once, but the user behind it may log out in another tab, be
    deactivated or lose a role while it stays open: raises NotAuthenticated when this
    browser's session has ended, Forbidden when the user no longer holds one of `roles`
    (any role will do when none are given; services check their own rules besides).
    Call it at the top of a handler, before other awaits: the session is read from the
    browser's request, which only the handler's own context knows.
    """
    user_id = app.storage.user.get(SESSION_KEY)
    if user_id is None:
        raise NotAuthenticated(SESSION_ENDED)
    user = await run.io_bound(_active_user, user_id, _generation())
    if user is None:
        if app.storage.user.get(SESSION_KEY) == user_id:
            app.storage.user.clear()  # deactivated: every tab of this browser is signed out
        raise NotAuthenticated(SESSION_ENDED)
    if roles and not has_role(user, *roles):
        wanted = " or ".join(str(r) for r in roles)
        raise Forbidden(f"You no longer have the {wanted} role this page needs: "
                        "reload the page")
    return user


def watch_session(*, every: float = 5.0, reload_every: int = 6) -> ui.timer:
    """Sends this tab to /login once the browser's session has ended: at once when another
    tab logged out (`every` seconds, no database), within `reload_every` ticks when the
    user was deactivated or their password changed elsewhere."""
    ticks = 0

    async def check() -> None:
        nonlocal ticks
        ticks += 1
        user_id = app.storage.user.get(SESSION_KEY)
        if (user_id is not None and ticks % reload_every == 0
                and await run.io_bound(_active_user, user_id, _generation()) is None):
            user_id = None
        if user_id is None:
            timer.cancel()
            ui.navigate.to("/login")

    timer = ui.timer(every, check)
    return timer


def home_path(user: User) -> str:
    return "/tasks" if has_role(user, "admin") else "/my-tasks"


def _generation() -> int:
    """The generation this browser signed in with (0 for sessions older than generations)."""
    return int(app.storage.user.get(GENERATION_KEY, 0))


def _active_user(user_id: int, generation: int) -> User | None:
    with session_scope() as session:
        user = users.active_user(session, user_id)
    return user if user is not None and user.session_generation == generation else None
