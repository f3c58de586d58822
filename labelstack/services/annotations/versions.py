"""Annotation versions: created when an annotation task starts, moved between statuses by
the workflow (always with a version bump and an audit event)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AnnotationStatus, AuditAction, TaskType
from labelstack.db.models import Annotation, AnnotationRevision, LabelAssignment, Task, TaskItem, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.errors import Conflict


def create_annotations_for_task(session: Session, *, task: Task, actor: User) -> list[Annotation]:
    """Give the assignee of a starting annotation task one new version per label to draw.

    Items are label assignments, or images (then every label assigned to the
    image). Calling it again (task restarted, labels added inside the task)
    only adds what is missing. A task re-assigned after a cancel still holds
    the former assignee's drafts, which the new one may not save: those stay
    as they are (history) and the new assignee gets the next version instead.
    Work the former assignee saved stays the task's work. The caller commits.
    """
    if task.type != TaskType.annotation:
        raise Conflict(f"task {task.id} is a {task.type} task, not an annotation task")
    if task.assignee_id is None:
        raise Conflict(f"task {task.id} has no assignee to author its annotations")
    assert task.id is not None  # a stored task
    current = {a.label_assignment_id: a for a in session.exec(
        select(Annotation).where(Annotation.task_id == task.id)
        .order_by(col(Annotation.version))).all()}
    created = []
    saved = set(session.exec(select(AnnotationRevision.annotation_id).where(
        col(AnnotationRevision.annotation_id).in_([a.id for a in current.values()]))).all())
    for assignment_id in _task_assignment_ids(session, task):
        here = current.get(assignment_id)
        if here is None or (here.status == AnnotationStatus.draft and here.id not in saved
                            and here.author_id != task.assignee_id):
            current[assignment_id] = new_version(
                session, actor=actor, label_assignment_id=assignment_id,
                author_id=task.assignee_id, task_id=task.id)
            created.append(current[assignment_id])
    return created


def unsaved_annotations(session: Session, *, task: Task) -> list[Annotation]:
    """The task's current annotations without any revision: finishing the task needs none
    left. A draft superseded by a newer version in the same task (see above) is history."""
    saved = select(AnnotationRevision.annotation_id)
    newer = sa.alias(Annotation.__table__, "newer")  # type: ignore[attr-defined]  # set, not declared by SQLModel
    superseded = sa.exists().where(newer.c.task_id == Annotation.task_id,
                                   newer.c.label_assignment_id == Annotation.label_assignment_id,
                                   newer.c.version > Annotation.version)
    query = select(Annotation).where(Annotation.task_id == task.id,
                                     col(Annotation.id).not_in(saved), ~superseded)
    return list(session.exec(query.order_by(col(Annotation.id))).all())


def new_version(session: Session, *, actor: User, label_assignment_id: int, author_id: int,
                task_id: int, status: AnnotationStatus = AnnotationStatus.draft) -> Annotation:
    """Add the next version of a label assignment's annotation (flushed, not committed)."""
    latest = session.exec(select(sa.func.max(Annotation.version))
                          .where(Annotation.label_assignment_id == label_assignment_id)).one()
    annotation = Annotation(label_assignment_id=label_assignment_id, version=(latest or 0) + 1,
                            author_id=author_id, task_id=task_id, status=status)
    session.add(annotation)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.annotation_create, entity_type="annotation",
                 entity_id=annotation.id,
                 details={"label_assignment_id": label_assignment_id, "version": annotation.version,
                          "author_id": author_id, "task_id": task_id})
    return annotation


def _task_assignment_ids(session: Session, task: Task) -> list[int]:
    items = session.exec(select(TaskItem).where(TaskItem.task_id == task.id)
                         .order_by(col(TaskItem.position))).all()
    ids: list[int] = []
    for item in items:
        if item.label_assignment_id is not None:
            ids.append(item.label_assignment_id)
        elif item.series_id is not None:
            ids.extend(i for i in session.exec(select(LabelAssignment.id)
                                               .where(LabelAssignment.series_id == item.series_id)
                                               .order_by(col(LabelAssignment.id))).all()
                       if i is not None)  # a primary key, never NULL
    return list(dict.fromkeys(ids))


def set_annotation_status(session: Session, *, actor: User, annotation: Annotation,
                          status: AnnotationStatus, task: Task) -> None:
    """Move an annotation to `status` because of `task`, with its audit event (no commit)."""
    before = annotation.status
    annotation.status = status
    annotation.updated_at = utcnow()
    annotation.row_version += 1
    session.add(annotation)
    audit.record(session, actor=actor, action=AuditAction.annotation_status, entity_type="annotation",
                 entity_id=annotation.id, details={"status": {"before": before, "after": status},
                                                   "task_id": task.id})


def submit_task_work(session: Session, *, task: Task, actor: User) -> None:
    """A finished annotation task hands its saved drafts on for review (no commit)."""
    saved = select(AnnotationRevision.annotation_id)
    drafts = session.exec(select(Annotation).where(
        Annotation.task_id == task.id, Annotation.status == AnnotationStatus.draft,
        col(Annotation.id).in_(saved)).order_by(col(Annotation.id))).all()
    for annotation in drafts:
        set_annotation_status(session, actor=actor, annotation=annotation,
                              status=AnnotationStatus.submitted, task=task)
