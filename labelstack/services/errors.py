"""Errors a service raises; the API maps each to one HTTP status, pages show the message."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


class ServiceError(Exception):
    status_code = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(ServiceError):
    status_code = 422


class NotAuthenticated(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class TooLarge(ServiceError):
    """A request body bigger than what it could legitimately hold."""

    status_code = 413


class Conflict(ServiceError):
    """An illegal state change or a concurrent edit; `extra` may say what is allowed."""

    status_code = 409


def get_or_not_found(session: Session, table: type[Row], row_id: int, what: str) -> Row:
    """The row with this primary key, or NotFound("<what> <id> not found"): one lookup and
    one wording for every entity a service is asked about by id."""
    row = session.get(table, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


def validation_message(exc: Exception) -> str:
    """One readable line from a pydantic ValidationError, e.g. "password: at least 8 characters"."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    parts = []
    for error in errors():
        field = ".".join(str(p) for p in error["loc"]) or "input"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)
