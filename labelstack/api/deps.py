"""Typed dependencies shared by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.db.session import get_session
from labelstack.services.accounts import auth
from labelstack.services.errors import NotAuthenticated
from labelstack.services.security import require_role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

SessionDep = Annotated[Session, Depends(get_session)]


def current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> User:
    if not token:
        raise NotAuthenticated("not authenticated: send 'Authorization: Bearer <token>'")
    return auth.user_for_token(session, token)


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    require_role(user, Role.admin)
    return user


AdminUser = Annotated[User, Depends(admin_user)]
