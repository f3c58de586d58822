"""Validation errors as sentences people read: none of pydantic's own wording gets through."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labelstack.components.field_errors import plain
from labelstack.services.accounts.users import UserCreate
from labelstack.services.labels.catalog import LabelCreate


def _errors(model, **fields) -> dict[str, dict]:
    with pytest.raises(ValidationError) as caught:
        model(**fields)
    return {str(e["loc"][0]): e for e in caught.value.errors()}


def test_user_form_errors_read_as_sentences() -> None:
    errors = _errors(UserCreate, email="nope", password="short", roles=[])
    assert plain(errors["email"], "e-mail address") == \
        "Enter a valid e-mail address, e.g. ann@example.org."
    assert plain(errors["password"], "password") == "The password needs at least 8 characters."
    assert plain(errors["roles"], "role") == "Choose at least one role."


def test_label_form_errors_read_as_sentences() -> None:
    errors = _errors(LabelCreate, name="   ", color="red", description="x" * 1001)
    assert plain(errors["name"], "name") == "Enter a name."
    assert plain(errors["color"], "colour") == \
        "The colour is not in the expected form: use #rrggbb, e.g. #e11d48."
    assert plain(errors["description"], "description") == \
        "The description can have at most 1000 characters."
