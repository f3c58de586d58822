"""Typed dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import DataError
from sqlmodel import Session

from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.db.session import get_session
from labelstack.services.accounts import auth
from labelstack.services.errors import InvalidInput, NotAuthenticated
from labelstack.services.security import require_role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def request_session() -> Iterator[Session]:
    """The request's session. A value the database cannot hold (an id past SQLite's 64-bit
    or PostgreSQL's 32-bit integers, NUL in PostgreSQL text) names no row and can be stored
    in none: the request is refused as invalid (422), its transaction rolled back, not a 500."""
    try:
        yield from get_session()
    except OverflowError as exc:
        raise InvalidInput(f"a number in the request is out of range: {exc}") from None
    except DataError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise InvalidInput(f"a value in the request does not fit the database: {reason}") from None


SessionDep = Annotated[Session, Depends(request_session)]


def current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> User:
    if not token:
        raise NotAuthenticated("not authenticated: send 'Authorization: Bearer <token>'")
    return auth.user_for_token(session, token)


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    require_role(user, Role.admin)
    return user


AdminUser = Annotated[User, Depends(admin_user)]
