"""/: sends each user to where their work is."""

from __future__ import annotations

from nicegui import ui

from labelstack.components.frame import signed_in_user
from labelstack.components.session import home_path


@ui.page("/")
def home_page() -> None:
    user = signed_in_user()
    if user is not None:
        ui.navigate.to(home_path(user))
