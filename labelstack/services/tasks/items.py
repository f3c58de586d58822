"""What a task holds and how far it got: item validation, exclusivity, progress.

A label task holds images (series), an annotation task holds label
assignments, a review task holds annotations. An annotation task may be
created over images with labels chosen for it; those become label assignments
at creation, so every later step (starting, progress) sees one item kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, TaskType
from labelstack.db.models import (
    Annotation,
    AnnotationRevision,
    Label,
    LabelAssignment,
    Review,
    Series,
    Task,
    TaskItem,
    User,
)
from labelstack.services import audit
from labelstack.services.errors import Conflict, InvalidInput, NotFound
from labelstack.services.races import flush_or_conflict, lost_race_is_conflict
from labelstack.services.tasks.rules import ACTIVE

KIND_COLUMN = {
    TaskType.label: "series_id",
    TaskType.annotation: "label_assignment_id",
    TaskType.review: "annotation_id",
}


class TaskContent(BaseModel):
    """The items of a new task; which fields apply depends on its type."""

    series_ids: list[int] = Field(default_factory=list, max_length=10_000)
    label_ids: list[int] = Field(default_factory=list, max_length=1_000,
                                 description="annotation task over images: labels to draw")
    label_assignment_ids: list[int] = Field(default_factory=list, max_length=10_000)
    annotation_ids: list[int] = Field(default_factory=list, max_length=10_000)


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    time_spent: float


def resolve_items(session: Session, *, task_type: TaskType, content: TaskContent,
                  actor: User) -> tuple[list[int], list[LabelAssignment]]:
    """Validate the content for `task_type`.

    Returns the ids for its item column, in order, and the label assignments
    created for an annotation task over images (to be stamped with the task).
    """
    c = content
    created: list[LabelAssignment] = []
    wrong = {
        TaskType.label: c.label_ids or c.label_assignment_ids or c.annotation_ids,
        TaskType.annotation: c.annotation_ids or (c.series_ids and not c.label_ids)
        or (c.label_ids and not c.series_ids),
        TaskType.review: c.series_ids or c.label_ids or c.label_assignment_ids,
    }[task_type]
    if wrong:
        raise InvalidInput(
            "a label task holds series_ids; an annotation task holds label_assignment_ids "
            "and/or series_ids with label_ids; a review task holds annotation_ids")
    if task_type == TaskType.label:
        ids = _existing(session, Series, c.series_ids)
    elif task_type == TaskType.review:
        ids = _existing(session, Annotation, c.annotation_ids)
    else:
        ids = _existing(session, LabelAssignment, c.label_assignment_ids)
        check_drawable(session, select(LabelAssignment.label_id)
                       .where(col(LabelAssignment.id).in_(ids)))
        if c.series_ids:
            ids += _assignments_for(session, _existing(session, Series, c.series_ids),
                                    _existing(session, Label, c.label_ids), actor, created)
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise InvalidInput("a task needs at least one item")
    return ids, created


def check_drawable(session: Session, label_ids: Sequence[int] | sa.Select) -> None:
    """Archived labels are hidden from new work: no annotation task may draw one, whether it
    is made over images and labels or over existing label assignments."""
    archived = session.exec(select(Label.name).where(col(Label.id).in_(label_ids),
                                                     col(Label.archived))).all()
    if archived:
        raise Conflict(f"archived labels cannot be drawn: {', '.join(sorted(archived))}",
                       labels=sorted(archived))


def record_assignments(session: Session, *, actor: User, task: Task, ids: Sequence[int],
                       created: Sequence[LabelAssignment]) -> None:
    """One `label.assign` event per label that got new images for an annotation task over
    images, shaped like the events of `labels.assign_label` (no commit)."""
    if not created:
        return
    new = {a.id for a in created}
    pairs = {a.id: a for a in session.exec(select(LabelAssignment)
                                           .where(col(LabelAssignment.id).in_(ids))).all()}
    for label_id in dict.fromkeys(a.label_id for a in created):
        mine = [pairs[i] for i in ids if i in pairs and pairs[i].label_id == label_id]
        audit.record(session, actor=actor, action=AuditAction.label_assign, entity_type="label",
                     entity_id=label_id,
                     details={"created": [a.series_id for a in mine if a.id in new],
                              "existing": [a.series_id for a in mine if a.id not in new],
                              "task_id": task.id})


def add_items(session: Session, task: Task, ids: Sequence[int]) -> None:
    """Append items to a flushed task; an item another active task took meanwhile (after
    `check_exclusive`) is refused by the database's unique index, as the same 409."""
    assert task.id is not None  # flushed
    column = KIND_COLUMN[task.type]
    for position, item_id in enumerate(ids):
        kind: dict[str, Any] = {column: item_id}
        session.add(TaskItem(task_id=task.id, position=position, active=task.status in ACTIVE,
                             **kind))
    flush_or_conflict(session, _in_another_task(task.type))


def mark_active(session: Session, task: Task) -> None:
    """Keep the items' `active` flag equal to the task's status after a status change; a
    reopen whose items another task took meanwhile is refused by the unique index (409)."""
    with lost_race_is_conflict(session, Conflict(_in_another_task(task.type))):
        session.execute(sa.update(TaskItem).where(col(TaskItem.task_id) == task.id)
                        .values(active=task.status in ACTIVE))


def item_ids(session: Session, task: Task) -> list[int]:
    column = getattr(TaskItem, KIND_COLUMN[task.type])
    rows = session.exec(select(column).where(TaskItem.task_id == task.id)
                        .order_by(col(TaskItem.position))).all()
    return [r for r in rows if r is not None]


def task_series_ids(session: Session, task: Task) -> list[int]:
    """The images a task is about, whatever its item kind."""
    via_assignment = (select(LabelAssignment.series_id)
                      .join(TaskItem, col(TaskItem.label_assignment_id) == LabelAssignment.id)
                      .where(TaskItem.task_id == task.id))
    via_annotation = (select(LabelAssignment.series_id)
                      .join(Annotation, col(Annotation.label_assignment_id) == LabelAssignment.id)
                      .join(TaskItem, col(TaskItem.annotation_id) == Annotation.id)
                      .where(TaskItem.task_id == task.id))
    direct = select(TaskItem.series_id).where(TaskItem.task_id == task.id,
                                              col(TaskItem.series_id).is_not(None))
    ids = set(session.exec(direct).all()) | set(session.exec(via_assignment).all())
    return sorted(i for i in ids | set(session.exec(via_annotation).all()) if i is not None)


def check_exclusive(session: Session, *, task_type: TaskType, ids: Sequence[int],
                    task_id: int | None = None) -> None:
    """The same image/assignment/annotation cannot sit in two active tasks of one type."""
    column = getattr(TaskItem, KIND_COLUMN[task_type])
    query = (select(column, Task.id).join(Task, col(Task.id) == TaskItem.task_id)
             .where(Task.type == task_type, col(Task.status).in_(ACTIVE), column.in_(ids)))
    if task_id is not None:
        query = query.where(Task.id != task_id)
    clashes = session.exec(query).all()
    if clashes:
        raise Conflict(_in_another_task(task_type),
                       items=sorted({c[0] for c in clashes}),
                       task_ids=sorted({c[1] for c in clashes}))


def check_not_author(session: Session, *, annotation_ids: Sequence[int],
                     reviewer_id: int | None) -> None:
    """A reviewer is never the author of what they review."""
    if reviewer_id is None or not annotation_ids:
        return
    own = session.exec(select(Annotation.id).where(col(Annotation.id).in_(annotation_ids),
                                                   Annotation.author_id == reviewer_id)).all()
    if own:
        raise Conflict("a reviewer never reviews their own annotations",
                       annotation_ids=sorted(i for i in own if i is not None))


def progress_columns(task_id: sa.ColumnElement[int] | Mapped[int | None]) -> tuple[sa.ScalarSelect[int],
                                                             sa.ScalarSelect[int],
                                                             sa.ScalarSelect[float]]:
    """Items total, items done and revision seconds of the task `task_id` names in the
    enclosing statement, as correlated subqueries: a list reads its page and the progress
    in one round trip.

    An item counts as done when flagged (the task was finished) or when its
    work exists: a label added to the image in this task, a saved annotation
    made in this task, a decided review made in this task.
    """
    item = aliased(TaskItem)
    work = sa.or_(
        col(item.done),
        sa.exists().where(col(LabelAssignment.task_id) == item.task_id,
                          col(LabelAssignment.series_id) == item.series_id),
        sa.exists().where(col(Annotation.task_id) == item.task_id,
                          col(Annotation.label_assignment_id) == item.label_assignment_id,
                          sa.exists().where(col(AnnotationRevision.annotation_id)
                                            == Annotation.id)),
        sa.exists().where(col(Review.task_id) == item.task_id,
                          col(Review.annotation_id) == item.annotation_id,
                          col(Review.result).is_not(None)))
    total = sa.select(sa.func.count()).select_from(item).where(col(item.task_id) == task_id)
    spent = (sa.select(sa.func.sum(AnnotationRevision.time_spent))
             .join(Annotation, col(Annotation.id) == AnnotationRevision.annotation_id)
             .where(col(Annotation.task_id) == task_id))
    return total.scalar_subquery(), total.where(work).scalar_subquery(), spent.scalar_subquery()


def progress(total: int, done: int, revision_seconds: float | None,
             task_seconds: float) -> Progress:
    """Time spent is the revisions' sum where there are any, else the task's own counter."""
    return Progress(done=done, total=total, time_spent=float(revision_seconds or task_seconds))


def progress_of(session: Session, tasks: Sequence[Task]) -> dict[int, Progress]:
    """Items done / total and time spent of many tasks in one query."""
    ids = [t.id for t in tasks if t.id is not None]
    if not ids:
        return {}
    rows: Sequence[Any] = session.execute(
        sa.select(col(Task.id), *progress_columns(col(Task.id)))
        .where(col(Task.id).in_(ids))).all()
    found = {task_id: (n, done, spent) for task_id, n, done, spent in rows}
    return {t.id: progress(*found[t.id], t.time_spent) for t in tasks if t.id is not None}


def _in_another_task(task_type: TaskType) -> str:
    return f"already in another active {task_type} task"


def mark_all_done(session: Session, task: Task) -> None:
    session.execute(sa.update(TaskItem).where(col(TaskItem.task_id) == task.id).values(done=True))


def _existing(session: Session, table: type[Series | Annotation | LabelAssignment | Label],
              ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(ids))
    found = set(session.exec(select(table.id).where(col(table.id).in_(ids))).all()) if ids else set()
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"{table.__tablename__} not found: {missing}", missing=missing)
    return ids


def _assignments_for(session: Session, series_ids: list[int], label_ids: list[int],
                     actor: User, created: list[LabelAssignment]) -> list[int]:
    """Get or create the label × image assignments an annotation task over images draws."""
    check_drawable(session, label_ids)
    existing = {(a.series_id, a.label_id): a for a in session.exec(
        select(LabelAssignment).where(col(LabelAssignment.series_id).in_(series_ids),
                                      col(LabelAssignment.label_id).in_(label_ids))).all()}
    out: list[LabelAssignment] = []
    for series_id in series_ids:
        for label_id in label_ids:
            pair = existing.get((series_id, label_id))
            if pair is None:
                pair = LabelAssignment(label_id=label_id, series_id=series_id,
                                       created_by_id=actor.id)
                session.add(pair)
                created.append(pair)
                existing[(series_id, label_id)] = pair
            out.append(pair)
    session.flush()
    return [a.id for a in out if a.id is not None]
