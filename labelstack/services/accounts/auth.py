"""Logging in: by password (browser and token endpoint) and by bearer token (API)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
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
class _Key:
    count: int = 0  # failed attempts, and attempts still in flight, within the window
    last: float = 0.0  # when the latest attempt was let begin (may lie in the future)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A reserved login attempt: wait `before` seconds, check the password, and on a wrong one
    wait `after_failure` more before answering."""

    account: str
    address: str
    before: float
    after_failure: float


@dataclass(slots=True)
class LoginThrottle:
    """Spaces out login attempts per key, the e-mail and the caller's address: after `n`
    failures the next attempt may begin `base_delay * 2**(n-1)` (at most `max_delay`) seconds
    after the previous one.

    Attempts are counted atomically: `reserve` counts an attempt as failed before its password
    is checked and schedules it after the ones in flight, so parallel guesses queue behind each
    other instead of all starting at once; a success takes its count back.

    A caller whose address has no recent failures (nor attempts in flight) has its password
    checked at once, so the account's failures from elsewhere never slow its owner; only a
    wrong password then waits for the account's slot (at most `max_delay`) before the answer.
    Guesses from addresses that have been failing wait for both keys, so one account is guessed
    at most once per `max_delay` from all failing addresses together, plus once per fresh
    address: a fair price for not letting anyone lock a user out by failing on their e-mail.
    A success does not clear its address's failures (logging in to one's own account must not
    reset guessing at others). Bounded, so random
    e-mails cannot fill memory. `clock` and `sleep` are injectable so tests need no waiting.
    """

    base_delay: float = 0.25
    max_delay: float = 8.0
    window: float = 900.0
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _keys: OrderedDict[str, _Key] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def delay(self, failures: int) -> float:
        return min(self.base_delay * 2 ** (failures - 1), self.max_delay) if failures else 0.0

    def reserve(self, account: str, address: str = "") -> Attempt:
        """Count an attempt on `account` from `address` ("" if unknown: treated as failing)."""
        with self._lock:
            now = self.clock()
            acct = self._entry(account, now)
            addr = self._entry(address, now) if address else None
            account_slot = self._slot(acct, now)
            if addr is not None and addr.count == 0:
                attempt = Attempt(account, address, 0.0, min(account_slot - now, self.max_delay))
                addr.last, acct.last = now, account_slot
            else:
                start = max(account_slot, self._slot(addr, now) if addr else now)
                attempt = Attempt(account, address, start - now, 0.0)
                for entry in (acct, addr):
                    if entry is not None:
                        entry.last = start
            for entry in (acct, addr):
                if entry is not None:
                    entry.count += 1
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the account starts afresh, the address loses this attempt."""
        with self._lock:
            self._keys.pop(attempt.account, None)
            addr = self._keys.get(attempt.address)
            if addr is not None and addr.count:
                addr.count -= 1

    def failures(self, key: str) -> int:
        """Failed and in-flight attempts counted for `key` now."""
        with self._lock:
            entry = self._keys.get(key)
            return entry.count if entry and self.clock() - entry.last <= self.window else 0

    def _entry(self, key: str, now: float) -> _Key:
        entry = self._keys.pop(key, None)
        if entry is None or now - entry.last > self.window:
            entry = _Key(last=now)
        self._keys[key] = entry
        return entry

    def _slot(self, entry: _Key, now: float) -> float:
        return max(now, entry.last + self.delay(entry.count))


throttle = LoginThrottle()


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with these credentials, or one generic refusal."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        raise NotAuthenticated(LOGIN_FAILED)
    return user


async def login(session: Session, email: str, password: str, *, source: str = "") -> User:
    """Authenticate off the event loop (argon2 costs tens of ms), paced by `throttle` for this
    e-mail and this caller (`source`: the client address, see `addresses.client_address`)."""
    attempt = throttle.reserve(email.strip().lower(), f"from:{source}" if source else "")
    if attempt.before:
        await throttle.sleep(attempt.before)
    try:
        user = await asyncio.to_thread(authenticate, session, email, password)
    except NotAuthenticated:
        if attempt.after_failure:
            await throttle.sleep(attempt.after_failure)
        raise
    throttle.succeeded(attempt)
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
