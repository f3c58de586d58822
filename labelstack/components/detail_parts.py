"""The pieces the details pages (a task, an image) are laid out with."""

from __future__ import annotations

from datetime import datetime

from nicegui import ui


def section(title: str, caption: str) -> None:
    with ui.row().classes("items-baseline gap-3 mt-2"):
        ui.label(title).classes("text-h6 font-medium")
        ui.label(caption).classes("text-caption text-grey-7")


def fact(name: str, value: str) -> None:
    """A caption over its value, e.g. "Assignee" over "Ann Notator"."""
    with ui.column().classes("gap-0"):
        ui.label(name).classes("text-caption text-grey-7")
        ui.label(value)


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def vars_of(row: object) -> dict:
    """A slotted dataclass row as the dict a table shows (times as text)."""
    values = {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]
    return {k: when(v) if isinstance(v, datetime) else v for k, v in values.items()}
