"""Lost races become 409s: the database refuses the loser (a unique key already taken,
SQLite's write lock held), and the caller hears "someone else was faster", not a 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from labelstack.services.errors import Conflict


@contextmanager
def lost_race_is_conflict(session: Session, conflict: Conflict) -> Iterator[None]:
    """Roll back and raise `conflict` when the block loses a race to another writer."""
    try:
        yield
    except (IntegrityError, OperationalError) as exc:
        session.rollback()
        if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
            raise
        raise conflict from None


def flush_or_conflict(session: Session, detail: str) -> None:
    """Flush; a unique key another writer took meanwhile becomes Conflict(`detail`), the
    same 409 as the check made before the write."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(detail) from None
