"""A form's bad input as plain sentences under the fields they are about, each gone as soon as
its field changes; what belongs to no field goes to the form's error line.

    errors = FieldErrors({"name": (name_input, "name"), "roles": (roles_select, "role")},
                         line=error_label)
    ok, data = errors.check(lambda: UserCreate(name=name_input.value, ...))  # not ok: shown
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from nicegui import ui
from nicegui.element import Element
from nicegui.elements.mixins.value_element import ValueElement
from pydantic import ValidationError

from labelstack.components.workflow import parse_date

T = TypeVar("T")
Field = tuple[ValueElement, str]
"""A field's element and what the sentences call it ("name", "e-mail address", "role")."""


class FieldErrors:
    def __init__(self, fields: dict[str, Field], *, line: ui.label) -> None:
        self.fields, self.line = fields, line
        self.dates: dict[str, str] = {}
        for element, _ in fields.values():
            element.on_value_change(lambda _e, el=element: self.clear(el))  # type: ignore[attr-defined]

    def check(self, build: Callable[[], T]) -> tuple[bool, T | None]:
        """(True, `build()`), or (False, None) with its validation errors shown where they
        belong (every field's at once: the dates `date` could not read, and pydantic's)."""
        self.clear_all()
        self.dates: dict[str, str] = {}
        failed = False
        try:
            built = build()
        except ValidationError as exc:
            failed = True
            for error in exc.errors():
                key = str(error["loc"][0]) if error["loc"] else ""
                field = self.fields.get(key)
                self.show(key, plain(error, field[1] if field else key.replace("_", " ")))
            built = None
        for key, sentence in self.dates.items():
            self.show(key, sentence)
        ok = not failed and not self.dates
        return ok, built if ok else None

    def date(self, key: str, text: str | None) -> date | None:
        """The date typed in field `key`; None, and an error for that field, when it is none."""
        try:
            return parse_date(text)
        except ValueError:
            self.dates[key] = "Enter a date as YYYY-MM-DD, or pick one in the calendar."
            return None

    def show(self, key: str, sentence: str) -> None:
        field = self.fields.get(key)
        if field is None:
            self.line.set_text(sentence)
            return
        element = field[0]
        if element.props.get("error"):
            return  # the first problem of a field is enough
        element.props["error"] = True
        element.props["error-message"] = sentence
        element.update()

    def clear(self, element: Element) -> None:
        if element.props.get("error"):
            element.props["error"] = False
            element.props["error-message"] = None
            element.update()
        self.line.set_text("")

    def clear_all(self) -> None:
        for element, _ in self.fields.values():
            self.clear(element)


def plain(error: Any, name: str) -> str:
    """One pydantic error as a sentence for people: "Enter a name.", "Choose at least one role."."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    article = "an" if name[:1] in "aeio" else "a"
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return f"Enter {article} {name}."
    if kind == "string_too_short":
        return f"The {name} needs at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"The {name} can have at most {ctx['max_length']} characters."
    if kind == "too_short":
        return f"Choose at least {_count(ctx.get('min_length', 1), name)}."
    if kind == "too_long":
        return f"Choose at most {_count(ctx.get('max_length', 1), name)}."
    if kind == "string_pattern_mismatch":
        return f"The {name} is not in the expected form" + (
            ": use #rrggbb, e.g. #e11d48." if "colour" in name or "color" in name else ".")
    if kind in ("enum", "literal_error"):
        return f"Choose one of the offered values for the {name}."
    if kind.startswith(("int_", "float_")):
        return f"The {name} must be a number."
    if kind.startswith("date"):
        return "Enter a date as YYYY-MM-DD, or pick one in the calendar."
    if kind == "value_error":
        reason = str(ctx.get("error", error.get("msg", "")))
        if "email" in reason.lower():
            return "Enter a valid e-mail address, e.g. ann@example.org."
        return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")
    return f"The {name} is not valid: {error.get('msg', '')}."


def _count(n: int, name: str) -> str:
    return f"one {name}" if n == 1 else f"{n} {name}s"
