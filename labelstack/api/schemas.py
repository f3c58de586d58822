"""Response shapes of the API (what leaves the server, never a password hash)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

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
