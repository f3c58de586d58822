"""Per-user statistics, computed on demand from the audit trail and the tables.

- annotations saved and active time: the `annotation.save` audit events (one
  per revision). Active time is the seconds each save carries: in the editor, the sum of
  its journal entries' active seconds (the time since the previous edit, gaps of
  inactivity left out: `annotations/editing.py`), through the API what the client claims;
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, ReviewResult, Role, TaskStatus
from labelstack.db.models import Annotation, AuditEvent, Label, LabelAssignment, Review, Task, User
from labelstack.services.errors import Forbidden, InvalidInput, get_or_not_found
from labelstack.services.security import has_role, require_role
from labelstack.services.tasks.rules import ACTIVE


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

    def tallies(user_id: int | None, moment: datetime) -> tuple[Tally, Tally]:
        entry = stats[user_id]
        return entry.total, entry.per_day[moment.date()]

    def events(action: AuditAction) -> Sequence[AuditEvent]:
        query = select(AuditEvent).where(AuditEvent.action == action,
                                         col(AuditEvent.actor_id).in_(ids))
        if since is not None:
            query = query.where(col(AuditEvent.created_at) >= since)
        if until is not None:
            query = query.where(col(AuditEvent.created_at) < until)
        return session.exec(query).all()

    for event in events(AuditAction.annotation_save):
        for tally in tallies(event.actor_id, event.created_at):
            tally.annotations_saved += 1
            tally.active_time += float(event.details.get("time_spent", 0.0))
    finishes = [e for e in events(AuditAction.task_status)
                if e.entity_type == "task" and e.details.get("after") == TaskStatus.done]
    kinds = dict(session.exec(select(Task.id, Task.type).where(
        col(Task.id).in_({e.entity_id for e in finishes}))).all()) if finishes else {}
    for event in finishes:
        if event.entity_id in kinds:
            for tally in tallies(event.actor_id, event.created_at):
                tally.tasks_done[kinds[event.entity_id]] += 1
    for review, author_id, _label in _decided(session, since, until):
        assert review.result is not None and review.decided_at is not None  # decided
        if author_id in stats:
            for tally in tallies(author_id, review.decided_at):
                tally.review_results_received[review.result] += 1
        if review.reviewer_id in stats:
            for tally in tallies(review.reviewer_id, review.decided_at):
                tally.reviews_given += 1
    for entry in stats.values():
        entry.per_day = dict(sorted(entry.per_day.items()))
    return list(stats.values())


def _decided(session: Session, since: datetime | None,
             until: datetime | None) -> list[tuple[Review, int | None, str]]:
    """Decided reviews in the period, with the reviewed annotation's author and label."""
    query = (select(Review, Annotation.author_id, Label.name)
             .join(Annotation, col(Annotation.id) == Review.annotation_id)
             .join(LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
             .join(Label, col(Label.id) == LabelAssignment.label_id)
             .where(col(Review.result).is_not(None)))
    if since is not None:
        query = query.where(col(Review.decided_at) >= since)
    if until is not None:
        query = query.where(col(Review.decided_at) < until)
    return [(review, author, label) for review, author, label in session.exec(query).all()]


Period = Literal["day", "week"]
MAX_DAYS = 3660


def period_start(day: date, period: Period) -> date:
    """The first day of `day`'s period; weeks start on Monday (ISO)."""
    return day - timedelta(days=day.weekday()) if period == "week" else day


@dataclass(kw_only=True, slots=True)
class UserLine:
    """One user's values over the periods of a `Throughput` (same order)."""

    user: User
    tasks_done: list[int]
    annotations_saved: list[int]
    active_time: list[float]


@dataclass(kw_only=True, slots=True)
class Throughput:
    """Work per user and period: every period from the first to the last day asked for,
    and the users with any work in them."""

    period: Period
    periods: list[date]
    users: list[UserLine]


def throughput(session: Session, *, actor: User, first: date, last: date,
               period: Period = "day") -> Throughput:
    """Tasks done, annotations saved and active time per user and day or week, `first` to
    `last` inclusive (UTC days), for the Statistics chart."""
    if last < first:
        raise InvalidInput("the period ends before it starts")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"choose at most {MAX_DAYS} days (about ten years)")
    if period not in ("day", "week"):
        raise InvalidInput(f"period must be 'day' or 'week', not {period!r}")
    periods = sorted({period_start(first + timedelta(days=n), period)
                      for n in range((last - first).days + 1)})
    found = all_user_stats(session, actor=actor,
                           since=datetime.combine(first, datetime.min.time(), UTC),
                           until=None if last == date.max else datetime.combine(
                               last + timedelta(days=1), datetime.min.time(), UTC))
    result = Throughput(period=period, periods=periods, users=[])
    slot = {p: i for i, p in enumerate(periods)}
    for entry in found:
        if not entry.per_day:
            continue
        line = UserLine(user=entry.user, tasks_done=[0] * len(periods),
                      annotations_saved=[0] * len(periods), active_time=[0.0] * len(periods))
        for day, tally in entry.per_day.items():
            i = slot[period_start(day, period)]
            line.tasks_done[i] += sum(tally.tasks_done.values())
            line.annotations_saved[i] += tally.annotations_saved
            line.active_time[i] += tally.active_time
        result.users.append(line)
    return result


@dataclass(kw_only=True, slots=True)
class Outcomes:
    """Decided reviews of one annotator's or one label's work."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def decided(self) -> int:
        return sum(self.counts.values())

    @property
    def accept_rate(self) -> float | None:
        """Accepted of decided (a correction is not an acceptance); None without reviews."""
        return self.counts[ReviewResult.accepted] / self.decided if self.decided else None


@dataclass(kw_only=True, slots=True)
class ReviewOutcomes:
    per_annotator: list[Outcomes]
    per_label: list[Outcomes]


def review_outcomes(session: Session, *, actor: User, since: datetime | None = None,
                    until: datetime | None = None) -> ReviewOutcomes:
    """How reviews of each annotator's and each label's work were decided in the period,
    by the annotation's author and label; most reviewed first."""
    require_role(actor, Role.admin)
    decided = _decided(session, _utc(since), _utc(until))
    names = {u.id: u.display_name for u in session.exec(select(User)).all()}
    authors: dict[int | None, Outcomes] = {}
    labels: dict[str, Outcomes] = {}
    for review, author_id, label in decided:
        assert review.result is not None  # only decided reviews are selected
        who = names.get(author_id, "deleted user") if author_id else "nobody"
        authors.setdefault(author_id, Outcomes(name=who)).counts[review.result] += 1
        labels.setdefault(label, Outcomes(name=label)).counts[review.result] += 1

    def ranked(found: dict) -> list[Outcomes]:
        return sorted(found.values(), key=lambda o: (-o.decided, o.name.lower()))

    return ReviewOutcomes(per_annotator=ranked(authors), per_label=ranked(labels))


@dataclass(kw_only=True, slots=True)
class TeamOverview:
    """The team's work in the period, and its tasks as they stand now."""

    people_active: int
    tasks_done: int
    annotations_saved: int
    active_time: float
    reviews_decided: int
    accept_rate: float | None
    tasks_now: dict[str, int]
    overdue_now: int


def team_overview(session: Session, *, actor: User, since: datetime | None = None,
                  until: datetime | None = None) -> TeamOverview:
    people = all_user_stats(session, actor=actor, since=since, until=until)
    totals = [p.total for p in people]
    outcomes = Outcomes(name="team")
    for review, _author, _label in _decided(session, _utc(since), _utc(until)):
        assert review.result is not None  # only decided reviews are selected
        outcomes.counts[review.result] += 1
    by_status = dict(session.exec(select(Task.status, sa.func.count())
                                  .group_by(col(Task.status))).all())
    overdue = session.exec(select(sa.func.count()).select_from(Task).where(
        col(Task.due_date) < date.today(),
        col(Task.status).in_([s.value for s in ACTIVE]))).one()
    return TeamOverview(
        people_active=sum(1 for p in people if p.per_day),
        tasks_done=sum(sum(t.tasks_done.values()) for t in totals),
        annotations_saved=sum(t.annotations_saved for t in totals),
        active_time=sum(t.active_time for t in totals),
        reviews_decided=outcomes.decided, accept_rate=outcomes.accept_rate,
        tasks_now={s.value: int(by_status.get(s, 0)) for s in TaskStatus}, overdue_now=int(overdue))
