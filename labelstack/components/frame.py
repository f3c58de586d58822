"""The page frame every signed-in page shares: header, navigation by role, user menu."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from nicegui import ui

from labelstack.components.session import (
    browser_user,
    home_path,
    logout_browser,
    watch_session,
)
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services.security import has_role

ACCENT = "#0f766e"


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str
    icon: str
    testid: str
    roles: tuple[Role, ...]


NAV = (
    NavItem("Tasks", "/tasks", "assignment", "nav-tasks", (Role.admin,)),
    NavItem("Labels", "/labels", "label", "nav-labels", (Role.admin,)),
    NavItem("Images", "/images", "photo_library", "nav-images", (Role.admin,)),
    NavItem("Users", "/users", "group", "nav-users", (Role.admin,)),
    NavItem("Statistics", "/stats", "insights", "nav-stats", (Role.admin,)),
    NavItem("My tasks", "/my-tasks", "checklist", "nav-my-tasks",
            (Role.annotator, Role.reviewer)),
)


def nav_for(user: User) -> list[NavItem]:
    return [item for item in NAV if has_role(user, *item.roles)]


def signed_in_user(*roles: Role) -> User | None:
    """The browser's user if they hold one of `roles` (any role when none given).

    Shows a "no access" frame and returns None otherwise; the middleware has
    already sent browsers without a session to the login page.
    """
    user = browser_user()
    if user is None:
        ui.navigate.to("/login")
        return None
    if roles and not has_role(user, *roles):
        with frame("No access", user=user), \
                ui.card().classes("mx-auto mt-12 p-8 items-center").props("data-testid=forbidden"):
            ui.icon("lock", size="48px").classes("text-grey-6")
            ui.label("You do not have access to this page.").classes("text-h6")
            wanted = " or ".join(str(r) for r in roles)
            ui.label(f"It needs the {wanted} role.").classes("text-grey-7")
        return None
    return user


@contextmanager
def frame(title: str, *, user: User) -> Iterator[None]:
    """Header with the navigation `user` may use; the body goes inside the `with` block.

    `user` is who loaded the page, for showing; handlers that act ask `current_actor()`.
    """
    ui.page_title(f"{title} · LabelStack")
    watch_session()
    ui.colors(primary=ACCENT)
    ui.query("body").classes("bg-grey-1")
    with ui.header(elevated=True).classes("items-center px-6 py-2 gap-6 bg-white text-grey-9"):
        _brand()
        with ui.row().classes("gap-1").props("data-testid=nav"):
            for item in nav_for(user):
                ui.button(item.label, icon=item.icon,
                          on_click=lambda p=item.path: ui.navigate.to(p)) \
                    .props(f"flat no-caps data-testid={item.testid}") \
                    .classes("text-grey-9" if item.label != title else "text-primary")
        ui.space()
        with ui.button(icon="account_circle").props(
                "flat no-caps data-testid=user-menu").classes("text-grey-9"):
            ui.label(user.name or user.email).classes("ml-2")
            with ui.menu():
                with ui.column().classes("px-4 py-2 gap-0"):
                    ui.label(user.email).classes("text-body2")
                    ui.label(", ".join(sorted(user.role_set))).classes(
                        "text-caption text-grey-7").props("data-testid=user-roles")
                ui.separator()
                ui.menu_item("Log out", on_click=logout_browser).props("data-testid=logout")
    with ui.column().classes("w-full max-w-screen-xl mx-auto px-6 py-6 gap-4"):
        ui.label(title).classes("text-h5 font-medium").props("data-testid=page-title")
        yield


def not_found(*, user: User | None, what: str = "page") -> None:
    """The one "not found" page: the frame (or just the header when signed out), the reason and
    a way back to the user's own start page. Also what a task or image that is not the
    user's to see shows, so ids reveal nothing."""
    home = home_path(user) if user is not None else "/login"
    if user is None:
        ui.page_title("Not found · LabelStack")
        ui.colors(primary=ACCENT)
        ui.query("body").classes("bg-grey-1")
        with ui.header(elevated=True).classes("items-center px-6 py-2 bg-white text-grey-9"):
            _brand()
    with (frame("Not found", user=user) if user is not None else nullcontext()), \
            ui.card().classes("mx-auto mt-12 p-8 items-center gap-3") \
            .props("data-testid=not-found"):
        ui.icon("travel_explore", size="48px").classes("text-grey-6")
        ui.label(f"This {what} does not exist, or it is not yours to see.") \
            .classes("text-h6 text-center")
        ui.label("Check the address, or go back to where your work is.") \
            .classes("text-grey-7")
        ui.button("Go to the start page", icon="home",
                  on_click=lambda: ui.navigate.to(home)).props(
            "unelevated no-caps data-testid=not-found-home")


def _brand() -> None:
    with ui.link(target="/").classes("no-underline text-grey-9 flex items-center gap-2"):
        ui.icon("layers", size="28px", color="primary")
        ui.label("LabelStack").classes("text-h6 font-semibold tracking-tight")


def refusal(title: str, *, user: User, detail: str, testid: str) -> None:
    """A page that cannot be shown to this user: the frame, the reason and a way back."""
    with frame(title, user=user), ui.card().classes("mx-auto mt-12 p-8 items-center") \
            .props(f"data-testid={testid}"):
        ui.icon("block", size="48px").classes("text-grey-6")
        ui.label(detail).classes("text-h6 text-center")
        ui.button("Back", on_click=lambda: ui.navigate.back()).props("flat no-caps")
