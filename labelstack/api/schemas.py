"""Response shapes of the API (what leaves the server, never a password hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from labelstack.db.models import User


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(id=user.id or 0, email=user.email, name=user.name,
                   roles=sorted(user.role_set), is_active=user.is_active,
                   created_at=user.created_at)


class FieldError(BaseModel):
    """One field FastAPI could not read from the request."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every refusal: `detail` says why (the fields at fault when the request itself is
    malformed); some add what would be allowed instead (e.g. `allowed`, `limit_mb`)."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[FieldError]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# The refusals any route may give (services raise them, the API maps each to its status), so
# the OpenAPI schema documents them once for every route.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("bad request"),
    401: _error("not authenticated, or the token is invalid, expired or revoked"),
    403: _error("the user may not do this"),
    404: _error("no such entity (or not visible to this user)"),
    409: _error("refused in the current state"),
    413: _error("the request body is over its size limit"),
    422: _error("invalid input: `detail` says which field and why"),
}
