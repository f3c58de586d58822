"""Logging in: by password (browser and token endpoint) and by bearer token (API)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, select

from labelstack.db.models import ApiToken, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.errors import NotAuthenticated
from labelstack.services.security import new_token, token_hash, verify_password

LOGIN_FAILED = "wrong e-mail or password"
TOKEN_LIFETIME = timedelta(days=7)


@dataclass(slots=True)
class LoginThrottle:
    """Slows repeated failures per e-mail: each failure doubles the wait, up to `max_delay`."""

    base_delay: float = 0.25
    max_delay: float = 8.0
    window: float = 900.0
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def delay_for(self, key: str) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if not count or time.monotonic() - last > self.window:
            return 0.0
        return min(self.base_delay * 2 ** (count - 1), self.max_delay)

    def failed(self, key: str) -> None:
        count, _ = self._failures.get(key, (0, 0.0))
        self._failures[key] = (count + 1, time.monotonic())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


throttle = LoginThrottle()


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with these credentials, or one generic refusal."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        raise NotAuthenticated(LOGIN_FAILED)
    return user


async def login(session: Session, email: str, password: str) -> User:
    """Authenticate, waiting longer after each recent failure for this e-mail."""
    key = email.strip().lower()
    delay = throttle.delay_for(key)
    if delay:
        await asyncio.sleep(delay)
    try:
        user = authenticate(session, email, password)
    except NotAuthenticated:
        throttle.failed(key)
        raise
    throttle.succeeded(key)
    return user


def issue_token(session: Session, user: User, name: str = "api") -> str:
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=digest, name=name,
                         expires_at=utcnow() + TOKEN_LIFETIME))
    audit.record(session, actor=user, action="token.issue", entity_type="user", entity_id=user.id)
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    if row is None or row.revoked or (row.expires_at and row.expires_at < utcnow()):
        raise NotAuthenticated("invalid or expired token")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("invalid or expired token")
    return user


def revoke_token(session: Session, token: str) -> None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    if row is not None:
        row.revoked = True
        session.add(row)
        session.commit()
