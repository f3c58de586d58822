"""Password hashing, API tokens and the role checks every caller shares."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services.errors import Forbidden

_hasher = PasswordHasher()
# Compared against when the e-mail is unknown, so timing does not reveal which e-mails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A fresh bearer token and the hash we store for it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_role(user: User, *roles: Role | str) -> bool:
    return any(str(role) in user.role_set for role in roles)


def require_role(user: User, *roles: Role | str) -> None:
    """Refuse unless the user holds one of `roles`."""
    if not has_role(user, *roles):
        wanted = " or ".join(str(r) for r in roles)
        raise Forbidden(f"this action needs the {wanted} role")


def normalise_roles(roles: Iterable[Role | str]) -> str:
    """Validate roles and store them as a sorted comma list."""
    cleaned = set()
    for role in roles:
        try:
            cleaned.add(Role(str(role).strip().lower()).value)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {role!r}; allowed: {allowed}") from None
    return ",".join(sorted(cleaned))
