"""Tokens for scripts: OAuth2 password form in, bearer token out."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from labelstack.api.deps import CurrentUser, SessionDep, oauth2
from labelstack.api.schemas import UserPublic
from labelstack.services.accounts import auth

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/token", response_model=Token)
async def token(request: Request, session: SessionDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    source = request.client.host if request.client else ""  # a trusted proxy's client: forwarded.py
    user = await auth.login(session, form.username, form.password, source=source)
    return Token(access_token=await asyncio.to_thread(auth.issue_token, session, user))


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.of(user)


@router.post("/logout", status_code=204)
def logout(session: SessionDep, _user: CurrentUser,
           token: Annotated[str | None, Depends(oauth2)]) -> None:
    """Revoke the token this request carries."""
    if token:
        auth.revoke_token(session, token)
