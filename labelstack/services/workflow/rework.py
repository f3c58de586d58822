"""Rework: an admin turns rejected annotations into a new annotation task in one action."""

from __future__ import annotations

from sqlmodel import Session, select

from labelstack.db.enums import AnnotationStatus, Role, TaskType
from labelstack.db.models import Annotation, Task, User
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict, InvalidInput
from labelstack.services.security import require_role
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
