"""Rework: an admin turns rejected annotations into a new annotation task in one action, and
the authors learn what was rejected, why, and where it is redone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from labelstack.db.enums import AnnotationStatus, ReviewResult, Role, TaskType
from labelstack.db.models import Annotation, Review, Task, TaskItem, User
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict, InvalidInput
from labelstack.services.security import has_role, require_role
from labelstack.services.workflow.transitions import TaskCreate, create_task


def rework_rejected(session: Session, *, actor: User, annotation_ids: list[int],
                    assignee_id: int | None = None, name: str | None = None) -> Task:
    """One action for an admin: a new annotation task over the rejected annotations' labels.

    Only the latest version of a label assignment can be reworked, and only if
    it was rejected; the task rules (exclusivity, assignee role) apply as for
    any task, and the new versions are created when the task starts.
    """
    require_role(actor, Role.admin)
    found = [reads.get_annotation(session, i) for i in dict.fromkeys(annotation_ids)]
    if not found:
        raise InvalidInput("name at least one rejected annotation")
    not_rejected = [a.id for a in found if a.status != AnnotationStatus.rejected]
    if not_rejected:
        raise Conflict("only rejected annotations can be reworked", annotation_ids=not_rejected)
    superseded = [a.id for a in found if session.exec(select(Annotation.id).where(
        Annotation.label_assignment_id == a.label_assignment_id,
        Annotation.version > a.version)).first() is not None]
    if superseded:
        raise Conflict("these annotations already have a newer version",
                       annotation_ids=superseded)
    listed = ", ".join(str(a.id) for a in found)
    data = TaskCreate(type=TaskType.annotation, assignee_id=assignee_id,
                      name=name or f"Rework of {len(found)} rejected annotation(s)",
                      description=f"Rework of rejected annotations {listed}.",
                      label_assignment_ids=[a.label_assignment_id for a in found])
    return create_task(session, actor=actor, data=data)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rejection:
    """A reviewer's rejection of work done in a task, as its author sees it: what, by whom,
    why, and the task (if any) where it is to be redone."""

    task_id: int
    annotation: str
    reviewer: str
    comment: str
    rework_task_id: int | None
    rework_task: str
    rework_status: str
    rework_assignee_id: int | None


def rejections(session: Session, *, actor: User, task_ids: list[int]) -> dict[int, list[Rejection]]:
    """task id → the rejected annotations made in it, for the tasks `actor` was assigned (an
    admin: any), each with the latest review's comment and the rework task holding its label."""
    query = select(Annotation).where(col(Annotation.task_id).in_(task_ids),
                                     Annotation.status == AnnotationStatus.rejected)
    if not has_role(actor, Role.admin):
        query = query.join(Task, col(Task.id) == Annotation.task_id) \
            .where(Task.assignee_id == actor.id)
    rejected = list(session.exec(query.order_by(col(Annotation.id))).all())
    if not rejected:
        return {}
    titles = {s.id: s.title for s in reads.summaries(session, [a.id for a in rejected if a.id])}
    out: dict[int, list[Rejection]] = {}
    for a in rejected:
        review = session.exec(select(Review).where(Review.annotation_id == a.id,
                                                   Review.result == ReviewResult.rejected)
                              .order_by(col(Review.sequence).desc())).first()
        reviewer = session.get(User, review.reviewer_id) if review and review.reviewer_id else None
        rework = session.exec(
            select(Task).join(TaskItem, col(TaskItem.task_id) == Task.id)
            .where(TaskItem.label_assignment_id == a.label_assignment_id,
                   Task.type == TaskType.annotation, col(Task.id) != a.task_id,
                   col(Task.created_at) >= a.created_at)
            .order_by(col(Task.id).desc())).first()
        out.setdefault(a.task_id or 0, []).append(Rejection(
            task_id=a.task_id or 0, annotation=titles.get(a.id or 0, "an annotation"),
            reviewer=reviewer.display_name if reviewer else "a reviewer",
            comment=review.comment if review else "",
            rework_task_id=rework.id if rework else None,
            rework_task=rework.name if rework else "", rework_status=rework.status if rework else "",
            rework_assignee_id=rework.assignee_id if rework else None))
    return out
