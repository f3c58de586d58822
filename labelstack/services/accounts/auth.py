"""Logging in: by password (browser and token endpoint) and by bearer token (API)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, select

from labelstack.db.enums import AuditAction
from labelstack.db.models import ApiToken, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.errors import NotAuthenticated
from labelstack.services.security import new_token, token_hash, verify_password

LOGIN_FAILED = "wrong e-mail or password"
TOKEN_LIFETIME = timedelta(days=7)


@dataclass(slots=True)
class LoginThrottle:
    """Slows repeated failures per key (the e-mail, and the caller's address): each failure
    doubles the wait, up to `max_delay`. Bounded, so random e-mails cannot fill memory."""

    base_delay: float = 0.25
    max_delay: float = 8.0
    window: float = 900.0
    max_keys: int = 10_000
    _failures: OrderedDict[str, tuple[int, float]] = field(default_factory=OrderedDict)

    def delay_for(self, *keys: str) -> float:
        return max((self._delay(key) for key in keys), default=0.0)

    def _delay(self, key: str) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if not count or time.monotonic() - last > self.window:
            return 0.0
        return min(self.base_delay * 2 ** (count - 1), self.max_delay)

    def failed(self, *keys: str) -> None:
        for key in keys:
            count, _ = self._failures.pop(key, (0, 0.0))
            self._failures[key] = (count + 1, time.monotonic())
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

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


async def login(session: Session, email: str, password: str, *, source: str = "") -> User:
    """Authenticate off the event loop (argon2 costs tens of ms), waiting longer after each
    recent failure for this e-mail or this caller (`source`, e.g. the client address)."""
    keys = [email.strip().lower()] + ([f"from:{source}"] if source else [])
    delay = throttle.delay_for(*keys)
    if delay:
        await asyncio.sleep(delay)
    try:
        user = await asyncio.to_thread(authenticate, session, email, password)
    except NotAuthenticated:
        throttle.failed(*keys)
        raise
    throttle.succeeded(keys[0])
    return user


def issue_token(session: Session, user: User, name: str = "api") -> str:
    assert user.id is not None  # a stored user
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=digest, name=name,
                         expires_at=utcnow() + TOKEN_LIFETIME))
    audit.record(session, actor=user, action=AuditAction.token_issue, entity_type="user", entity_id=user.id)
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
    if row is not None and not row.revoked:
        row.revoked = True
        session.add(row)
        user = session.get(User, row.user_id)
        audit.record(session, actor=user, action=AuditAction.token_revoke, entity_type="user",
                     entity_id=row.user_id, details={"token_id": row.id, "reason": "logout"})
        session.commit()


def revoke_all_tokens(session: Session, *, actor: User | None, user: User, reason: str) -> int:
    """Revoke every live token of `user` (no commit): a changed password or a deactivation
    must not leave old tokens working."""
    rows = session.exec(select(ApiToken).where(ApiToken.user_id == user.id,
                                               ApiToken.revoked == False)).all()  # noqa: E712
    for row in rows:
        row.revoked = True
        session.add(row)
    if rows:
        audit.record(session, actor=actor, action=AuditAction.token_revoke, entity_type="user",
                     entity_id=user.id, details={"tokens": len(rows), "reason": reason})
    return len(rows)
