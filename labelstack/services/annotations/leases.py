"""One editor per annotation at a time, across tabs, users and server processes.

A lease row names the holder (one browser tab) until it expires; the holder renews it
while the editor is open. Every journal write checks the lease in its own transaction, so
a tab that lost its lease (expired, or taken over) can never write over the new holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from labelstack.db.models import AnnotationLease, User
from labelstack.db.types import utcnow
from labelstack.services.errors import Conflict

LEASE_SECONDS = 30.0


class Refused(Exception):
    """`check`'s extra condition failed while the lease is still the holder's."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease now, for telling a second tab."""

    holder: str
    user_id: int | None
    name: str
    expires_at: datetime


def acquire(session: Session, *, annotation_id: int, holder: str, user: User,
            take_over: bool = False) -> Holder | None:
    """Take the lease for `holder` (commits). Returns None when taken; when another live
    holder has it and `take_over` is false, returns that holder and changes nothing."""
    now = utcnow()
    lease = session.get(AnnotationLease, annotation_id, with_for_update=True)
    if lease is not None and lease.holder != holder and lease.expires_at > now and not take_over:
        other = session.get(User, lease.user_id) if lease.user_id else None
        held = Holder(holder=lease.holder, user_id=lease.user_id,
                      name=other.display_name if other else "someone", expires_at=lease.expires_at)
        session.rollback()
        return held
    if lease is None:
        session.add(AnnotationLease(annotation_id=annotation_id, holder=holder, user_id=user.id,
                                    acquired_at=now, expires_at=_until(now)))
    else:
        lease.holder, lease.user_id, lease.acquired_at = holder, user.id, now
        lease.expires_at = _until(now)
        session.add(lease)
    try:
        session.commit()
    except IntegrityError:  # another tab inserted the first lease at the same instant
        session.rollback()
        raise Conflict("another tab opened this annotation at the same moment; reload") from None
    return None


def check(session: Session, *, annotation_id: int, holder: str,
          also: sa.ColumnElement[bool] | None = None) -> None:
    """Raise Conflict unless `holder` still holds the lease (and `also` holds), renewing it in
    the caller's transaction: the write it guards commits with the renewal. An expired lease
    nobody else took is still the holder's: expiry only lets another tab take it."""
    now = utcnow()
    guard = [col(AnnotationLease.annotation_id) == annotation_id, col(AnnotationLease.holder) == holder]
    renewed = session.exec(sa.update(AnnotationLease).where(*guard, *([also] if also is not None else []))
                           .values(expires_at=_until(now))
                           .execution_options(synchronize_session=False)).rowcount
    if renewed != 1:
        if also is not None and session.exec(select(AnnotationLease.holder).where(*guard)).first():
            raise Refused  # the lease is ours: the other condition failed
        raise Conflict("this editor lost its lease (the annotation was taken over in another tab "
                       "or window): reload to edit again", lease="stale")


def renew(session: Session, *, annotation_id: int, holder: str) -> None:
    check(session, annotation_id=annotation_id, holder=holder)
    session.commit()


def release(session: Session, *, annotation_id: int, holder: str) -> None:
    session.execute(sa.delete(AnnotationLease).where(
        col(AnnotationLease.annotation_id) == annotation_id, col(AnnotationLease.holder) == holder))
    session.commit()


def _until(now: datetime) -> datetime:
    return now + timedelta(seconds=LEASE_SECONDS)
