"""One task as its details page shows it: items with their state, the annotations and reviews
made in it, and its history from the audit trail told as sentences.

Who may look is the read rule of the task API; anyone else is told the task does not exist,
so task ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, TaskType
from labelstack.db.models import (
    Annotation,
    AuditEvent,
    Label,
    LabelAssignment,
    Review,
    Series,
    Task,
    TaskItem,
    User,
)
from labelstack.services.annotations import reads
from labelstack.services.annotations.reads import AnnotationSummary
from labelstack.services.images.index import series_titles
from labelstack.services.tasks import records

VERBS = {"in_progress": "started the task", "done": "finished the task",
         "cancelled": "cancelled the task", "unassigned": "unassigned the task",
         "open": "opened the task"}
FIELD_NAMES = {"name": "the name", "description": "the description", "priority": "the priority",
               "due_date": "the due date", "assignee_id": "the assignee", "status": "the status"}


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemRow:
    """One item: the image it is on, and for annotation and review tasks its label (and
    version)."""

    position: int
    item_id: int
    """What the item holds: a series (label tasks), a label assignment, an annotation."""
    done: bool
    series_uid: str
    image: str
    label: str = ""
    color: str = ""
    version: int | None = None
    status: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewRow:
    id: int
    annotation_id: int
    annotation: str
    reviewer: str
    result: str
    comment: str
    decided_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class HistoryEntry:
    at: datetime
    sentence: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskDetails:
    task: Task
    assignee: str
    creator: str
    items: list[ItemRow]
    annotations: list[AnnotationSummary]
    reviews: list[ReviewRow]
    history: list[HistoryEntry]

    @property
    def series_uids(self) -> list[str]:
        return list(dict.fromkeys(i.series_uid for i in self.items if i.series_uid))


def task_details(session: Session, *, actor: User, task_id: int) -> TaskDetails:
    """The task if `actor` may read it (admins: any); NotFound otherwise, alike for a task
    that is missing and one that is not theirs."""
    task = records.read_task(session, actor=actor, task_id=task_id)
    assert task.id is not None  # loaded from the database
    items = _items(session, task)
    annotation_ids = _annotation_ids(session, task)
    annotations = reads.summaries(session, annotation_ids)
    about = {a.id: a.title for a in annotations}
    found = list(session.exec(select(Review).where(Review.task_id == task.id)
                              .order_by(col(Review.id))).all())
    people = _names(session, [task.assignee_id, task.creator_id,
                              *(r.reviewer_id for r in found)])
    reviews = [ReviewRow(id=r.id or 0, annotation_id=r.annotation_id,
                         annotation=about.get(r.annotation_id, "an annotation"),
                         reviewer=people.get(r.reviewer_id or 0, "—"), result=r.result or "",
                         comment=r.comment, decided_at=r.decided_at) for r in found]
    events = _events(session, task.id, annotation_ids, [r.id for r in found if r.id])
    people |= _names(session, [e.actor_id for e in events])
    history = [HistoryEntry(at=e.created_at, sentence=sentence(
        e, actor=people.get(e.actor_id or 0, "The system"), names=people,
        about=_about(e, about, {r.id: r for r in found}))) for e in events]
    return TaskDetails(task=task, assignee=people.get(task.assignee_id or 0, ""),
                       creator=people.get(task.creator_id or 0, ""), items=items,
                       annotations=annotations, reviews=reviews, history=history)


def sentence(event: AuditEvent, *, actor: str, names: dict[int, str], about: str = "") -> str:
    """One audit event of a task as a sentence: "Ada Admin created the task (3 items)"."""
    d: dict[str, Any] = event.details or {}
    action = event.action
    if action == AuditAction.task_create:
        count = d.get("items", 0)
        text = f"{actor} created the task ({count} item{'s' if count != 1 else ''})"
        if d.get("assignee_id"):
            text += f" for {names.get(d['assignee_id'], 'someone')}"
        return text
    if action == AuditAction.task_take:
        return f"{actor} took the task"
    if action == AuditAction.task_status:
        before, after = str(d.get("before", "")), str(d.get("after", ""))
        verb = "reopened the task" if after == "open" and before in ("done", "cancelled") \
            else VERBS.get(after, f"moved the task to {after.replace('_', ' ')}")
        return f"{actor} {verb}"
    if action == AuditAction.task_update and "items" in d:
        items = d["items"]
        return (f"{actor} changed the items: {len(items.get('added', []))} added, "
                f"{len(items.get('removed', []))} removed")
    if action == AuditAction.task_update:
        changes = [_change(name, change, names) for name, change in sorted(d.items())
                   if isinstance(change, dict)]
        return f"{actor} changed " + ("; ".join(changes) if changes else "the task")
    if action == AuditAction.annotation_save:
        return f"{actor} saved {about or 'an annotation'}"
    if action == AuditAction.annotation_create:
        return f"{actor} started {about or 'an annotation'}"
    if action == AuditAction.review_decide:
        text = f"{actor} {d.get('result', 'decided')} {about or 'an annotation'}"
        return text + (f": “{d['comment']}”" if d.get("comment") else "")
    return f"{actor}: {str(action).replace('.', ' ')}"


def _change(name: str, change: dict[str, Any], names: dict[int, str]) -> str:
    def shown(value: Any) -> str:
        if value in (None, ""):
            return "nothing"
        if name == "assignee_id":
            return names.get(int(value), f"user {value}")
        return str(value).replace("_", " ")

    return (f"{FIELD_NAMES.get(name, name)} from {shown(change.get('before'))} "
            f"to {shown(change.get('after'))}")


def _about(event: AuditEvent, annotations: dict[int, str], reviews: dict[int | None, Review]) -> str:
    if event.entity_type == "annotation" and event.entity_id is not None:
        return annotations.get(event.entity_id, "")
    if event.entity_type == "review":
        review = reviews.get(event.entity_id)
        return annotations.get(review.annotation_id, "") if review else ""
    return ""


def _items(session: Session, task: Task) -> list[ItemRow]:
    rows = session.exec(
        select(TaskItem, LabelAssignment, Label, Annotation)
        .join(Annotation, col(Annotation.id) == TaskItem.annotation_id, isouter=True)
        .join(LabelAssignment, col(LabelAssignment.id) == sa.func.coalesce(
            TaskItem.label_assignment_id, Annotation.label_assignment_id), isouter=True)
        .join(Label, col(Label.id) == LabelAssignment.label_id, isouter=True)
        .where(TaskItem.task_id == task.id).order_by(col(TaskItem.position))).all()
    series_ids = [item.series_id or (pair.series_id if pair else None)
                  for item, pair, _, _ in rows]
    known = [s for s in series_ids if s is not None]
    titles = series_titles(session, known)
    uids = dict(session.exec(select(Series.id, Series.series_uid)
                             .where(col(Series.id).in_(known))).all())
    return [ItemRow(position=item.position, done=item.done, series_uid=uids.get(sid, ""),
                    item_id=item.series_id or item.label_assignment_id or item.annotation_id or 0,
                    image=titles.get(sid, "") if sid else "", label=label.name if label else "",
                    color=label.color if label else "",
                    version=annotation.version if annotation else None,
                    status=annotation.status if annotation else "")
            for (item, _, label, annotation), sid in zip(rows, series_ids, strict=True)]


def _annotation_ids(session: Session, task: Task) -> list[int]:
    """The annotations made in the task (annotation tasks, corrections of a review) and those
    it holds as items (review tasks)."""
    made = select(Annotation.id).where(Annotation.task_id == task.id)
    ids = set(session.exec(made).all())
    if task.type == TaskType.review:
        ids |= {i for i in session.exec(select(TaskItem.annotation_id)
                                        .where(TaskItem.task_id == task.id)).all() if i}
    return sorted(i for i in ids if i is not None)


def _events(session: Session, task_id: int, annotation_ids: list[int],
            review_ids: list[int]) -> list[AuditEvent]:
    mine = sa.or_(
        sa.and_(col(AuditEvent.entity_type) == "task", col(AuditEvent.entity_id) == task_id),
        sa.and_(col(AuditEvent.entity_type) == "review", col(AuditEvent.entity_id).in_(review_ids),
                col(AuditEvent.action) == AuditAction.review_decide),
        sa.and_(col(AuditEvent.entity_type) == "annotation",
                col(AuditEvent.entity_id).in_(annotation_ids),
                col(AuditEvent.action) == AuditAction.annotation_save))
    query = select(AuditEvent).where(mine).order_by(col(AuditEvent.created_at), col(AuditEvent.id))
    events = list(session.exec(query).all())
    # a review task holds annotations saved in earlier tasks: keep only this task's saves
    return [e for e in events if e.action != AuditAction.annotation_save
            or (e.details or {}).get("task_id") == task_id]


def _names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in session.exec(
        select(User).where(col(User.id).in_(wanted))).all() if u.id is not None}
