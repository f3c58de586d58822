"""Per-user statistics, computed on demand from the audit trail and the tables.

- annotations saved and active time: the `annotation.save` audit events (one
  per revision, carrying the seconds claimed);
- tasks done by type: the `task.status` → done events, by their actor (the assignee
  who finished) and day, so reopening a task does not erase the work (a task finished
  again counts again);
- review results received (by the annotation's author) and reviews given
  (by the reviewer): decided reviews.
Days are UTC dates. Aggregation happens in Python so SQLite and PostgreSQL
give the same answer without dialect-specific date functions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeGuard

from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Role, TaskStatus
from labelstack.db.models import Annotation, AuditEvent, Review, Task, User
from labelstack.services.errors import Forbidden, get_or_not_found
from labelstack.services.security import has_role, require_role


@dataclass(kw_only=True, slots=True)
class Tally:
    tasks_done: Counter[str] = field(default_factory=Counter)
    annotations_saved: int = 0
    active_time: float = 0.0
    review_results_received: Counter[str] = field(default_factory=Counter)
    reviews_given: int = 0


@dataclass(kw_only=True, slots=True)
class UserStats:
    user: User
    total: Tally
    per_day: dict[date, Tally]


def my_stats(session: Session, *, actor: User, since: datetime | None = None,
             until: datetime | None = None) -> UserStats:
    return user_stats(session, actor=actor, user_id=actor.id or 0, since=since, until=until)


def user_stats(session: Session, *, actor: User, user_id: int, since: datetime | None = None,
               until: datetime | None = None) -> UserStats:
    """One user's statistics: admins see anyone's, everyone else only their own."""
    if user_id != actor.id and not has_role(actor, Role.admin):
        raise Forbidden("you may see only your own statistics")
    user = get_or_not_found(session, User, user_id, "user")
    return _compute(session, [user], _utc(since), _utc(until))[0]


def all_user_stats(session: Session, *, actor: User, since: datetime | None = None,
                   until: datetime | None = None) -> list[UserStats]:
    require_role(actor, Role.admin)
    users = list(session.exec(select(User).order_by(User.email)).all())
    return _compute(session, users, _utc(since), _utc(until))


def _utc(moment: datetime | None) -> datetime | None:
    """Bounds without a time zone (`?until=2030-01-01`) are UTC, like the stored times."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _compute(session: Session, users: list[User], since: datetime | None,
             until: datetime | None) -> list[UserStats]:
    ids = [u.id for u in users]
    stats = {u.id: UserStats(user=u, total=Tally(), per_day=defaultdict(Tally)) for u in users}

    def within(moment: datetime | None) -> TypeGuard[datetime]:
        return moment is not None and (since is None or moment >= since) and (
            until is None or moment < until)

    def tallies(user_id: int | None, moment: datetime) -> tuple[Tally, Tally]:
        entry = stats[user_id]
        return entry.total, entry.per_day[moment.date()]

    saves = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.annotation_save,
                                                  col(AuditEvent.actor_id).in_(ids))).all()
    for event in saves:
        if within(event.created_at):
            for tally in tallies(event.actor_id, event.created_at):
                tally.annotations_saved += 1
                tally.active_time += float(event.details.get("time_spent", 0.0))
    finishes = [e for e in session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.task_status, AuditEvent.entity_type == "task",
        col(AuditEvent.actor_id).in_(ids))).all()
        if e.details.get("after") == TaskStatus.done and within(e.created_at)]
    kinds = dict(session.exec(select(Task.id, Task.type).where(
        col(Task.id).in_({e.entity_id for e in finishes}))).all()) if finishes else {}
    for event in finishes:
        if event.entity_id in kinds:
            for tally in tallies(event.actor_id, event.created_at):
                tally.tasks_done[kinds[event.entity_id]] += 1
    decided = session.exec(select(Review, Annotation.author_id)
                           .join(Annotation, col(Annotation.id) == Review.annotation_id)
                           .where(col(Review.result).is_not(None))).all()
    for review, author_id in decided:
        if not within(review.decided_at):
            continue
        assert review.result is not None  # only decided reviews are selected
        if author_id in stats:
            for tally in tallies(author_id, review.decided_at):
                tally.review_results_received[review.result] += 1
        if review.reviewer_id in stats:
            for tally in tallies(review.reviewer_id, review.decided_at):
                tally.reviews_given += 1
    for entry in stats.values():
        entry.per_day = dict(sorted(entry.per_day.items()))
    return list(stats.values())
