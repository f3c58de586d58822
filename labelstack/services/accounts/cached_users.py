"""Who is asking, for requests that come many times a second (slice renders): `auth` and
`users` answers kept briefly (`brief_cache`), so a scroll through a series does not look the
token up for every frame. A revoked token, a deactivation or a role change written by this
process is seen by the very next request; one written by another process within the TTL (an
expiry too, at most that late).

A hit is the cached, detached `User` itself, shared by every request of that token (building a
copy costs as much as the rest of a frame): read it, never add it to a session or change it.
"""

from __future__ import annotations

from sqlmodel import Session

from labelstack.db.models import ApiToken, User
from labelstack.services.accounts import auth, users
from labelstack.services.brief_cache import BriefCache
from labelstack.services.security import token_hash

_by_token: BriefCache[str, User] = BriefCache(ApiToken.__tablename__, User.__tablename__)
_by_id: BriefCache[int, User | None] = BriefCache(User.__tablename__)


def user_for_token(session: Session, token: str) -> User:
    """`auth.user_for_token`, briefly cached (refusals are not)."""
    def load() -> User:
        user = auth.user_for_token(session, token)
        session.expunge(user)
        return user

    return _by_token.get(token_hash(token), load)


def known_user_for_token(token: str) -> User | None:
    """The token's user when a fresh answer is held, else None (no database: `user_for_token`
    decides). A refusal is never held, so a revoked token always goes the long way."""
    return _by_token.peek(token_hash(token))


def active_user(session: Session, user_id: int) -> User | None:
    """`users.active_user`, briefly cached."""
    def load() -> User | None:
        user = users.active_user(session, user_id)
        if user is not None:
            session.expunge(user)
        return user

    return _by_id.get(user_id, load)
