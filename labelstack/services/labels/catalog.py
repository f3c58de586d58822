"""Labels and their assignments to images, managed by admins.

A label that has annotations is never deleted (the work would lose its
meaning); it can be archived instead, which hides it from new work. A label
without annotations is deleted together with its assignments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, func, select

from labelstack.db.enums import AuditAction, Role
from labelstack.db.models import Annotation, Label, LabelAssignment, Series, Task, TaskItem, User
from labelstack.services import audit
from labelstack.services.errors import Conflict, Forbidden, NotFound, get_or_not_found
from labelstack.services.races import flush_or_conflict
from labelstack.services.security import has_role, require_role
from labelstack.services.tasks import items as task_items
from labelstack.services.tasks.records import get_task, require_task_reader

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class LabelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    color: str = Field(default="#ff0000", pattern=COLOR_PATTERN, description="#rrggbb")
    description: str = Field(default="", max_length=1000)

    @field_validator("name", mode="before")
    @classmethod
    def _strip(cls, v: object) -> object:
        """Before the length check, so a name of blanks counts as empty."""
        return v.strip() if isinstance(v, str) else v


class LabelUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)
    description: str | None = Field(default=None, max_length=1000)
    archived: bool | None = Field(default=None, description="hide from new work, keep history")


class AssignmentCreate(BaseModel):
    label_id: int
    series_ids: list[int] = Field(min_length=1, max_length=10_000)


@dataclass(slots=True)
class AssignResult:
    """What a bulk assign did: new pairs, and pairs that already existed (harmless)."""

    created: list[LabelAssignment] = field(default_factory=list)
    existing: list[LabelAssignment] = field(default_factory=list)


def create_label(session: Session, *, actor: User, data: LabelCreate) -> Label:
    require_role(actor, Role.admin)
    _unique_name(session, data.name)
    label = Label(name=data.name, color=data.color.lower(), description=data.description)
    session.add(label)
    flush_or_conflict(session, f"a label named {data.name!r} already exists")
    audit.record(session, actor=actor, action=AuditAction.label_create, entity_type="label",
                 entity_id=label.id, details=data.model_dump())
    session.commit()
    return label


def update_label(session: Session, *, actor: User, label_id: int, data: LabelUpdate) -> Label:
    require_role(actor, Role.admin)
    label = get_label(session, label_id)
    changes = {}
    for name, new in data.model_dump(exclude_none=True).items():
        new = new.strip() if name == "name" else new.lower() if name == "color" else new
        if name == "name" and new.lower() != label.name.lower():
            _unique_name(session, new)
        if getattr(label, name) != new:
            changes[name] = {"before": getattr(label, name), "after": new}
            setattr(label, name, new)
    if changes:
        session.add(label)
        flush_or_conflict(session, f"a label named {label.name!r} already exists")
        audit.record(session, actor=actor, action=AuditAction.label_update, entity_type="label",
                     entity_id=label.id, details=changes)
        session.commit()
    return label


def delete_label(session: Session, *, actor: User, label_id: int) -> None:
    """Delete a label and its assignments; refused while annotations or tasks use them."""
    require_role(actor, Role.admin)
    label = get_label(session, label_id)
    assignments = list(session.exec(select(LabelAssignment)
                                    .where(LabelAssignment.label_id == label.id)).all())
    for assignment in assignments:
        _check_removable(session, assignment, what=f"label {label.name!r}")
    for assignment in assignments:
        session.delete(assignment)
    session.flush()
    session.delete(label)
    audit.record(session, actor=actor, action=AuditAction.label_delete, entity_type="label",
                 entity_id=label.id, details={"name": label.name,
                                              "assignments_removed": len(assignments)})
    session.commit()


def get_label(session: Session, label_id: int) -> Label:
    return get_or_not_found(session, Label, label_id, "label")


def list_labels(session: Session, *, include_archived: bool = False) -> list[Label]:
    """Every signed-in user sees the label catalogue (names and colours are not private)."""
    query = select(Label).order_by(func.lower(Label.name))
    if not include_archived:
        query = query.where(col(Label.archived).is_(False))
    return list(session.exec(query).all())


def usage_counts(session: Session, *, actor: User) -> dict[int, tuple[int, int]]:
    """label id → (images it is assigned to, annotations drawn with it), for every label.

    One grouped query, so the admin's label list does not load every assignment and
    annotation just to count them.
    """
    require_role(actor, Role.admin)
    rows = session.exec(
        select(Label.id, func.count(sa.distinct(col(LabelAssignment.id))),
               func.count(sa.distinct(col(Annotation.id))))
        .select_from(Label)
        .join(LabelAssignment, col(LabelAssignment.label_id) == Label.id, isouter=True)
        .join(Annotation, col(Annotation.label_assignment_id) == LabelAssignment.id,
              isouter=True)
        .group_by(col(Label.id))).all()
    return {label_id: (images, drawn) for label_id, images, drawn in rows
            if label_id is not None}  # a primary key, never NULL


def assign_label(session: Session, *, actor: User, data: AssignmentCreate) -> AssignResult:
    require_role(actor, Role.admin)
    result = add_assignments(session, actor=actor, label_id=data.label_id,
                             series_ids=data.series_ids, task=None)
    session.commit()
    return result


def add_assignments(session: Session, *, actor: User, label_id: int, series_ids: list[int],
                    task: Task | None) -> AssignResult:
    """Assign a label to images (no commit); existing pairs are reported, not duplicated."""
    label = get_label(session, label_id)
    assert label.id is not None  # loaded from the database
    if label.archived:
        raise Conflict(f"label {label.name!r} is archived")
    series_ids = list(dict.fromkeys(series_ids))
    found = set(session.exec(select(Series.id).where(col(Series.id).in_(series_ids))).all())
    missing = [i for i in series_ids if i not in found]
    if missing:
        raise NotFound(f"series not found: {missing}", missing=missing)
    existing = {a.series_id: a for a in session.exec(
        select(LabelAssignment).where(LabelAssignment.label_id == label.id,
                                      col(LabelAssignment.series_id).in_(series_ids))).all()}
    result = AssignResult(existing=[existing[s] for s in series_ids if s in existing])
    for series_id in (s for s in series_ids if s not in existing):
        assignment = LabelAssignment(label_id=label.id, series_id=series_id,
                                     created_by_id=actor.id, task_id=task.id if task else None)
        session.add(assignment)
        result.created.append(assignment)
    flush_or_conflict(session, "someone assigned the same label at the same time; try again")
    audit.record(session, actor=actor, action=AuditAction.label_assign, entity_type="label",
                 entity_id=label.id,
                 details={"created": [a.series_id for a in result.created],
                          "existing": [a.series_id for a in result.existing],
                          "task_id": task.id if task else None})
    return result


def list_assignments(session: Session, *, actor: User, label_id: int | None = None,
                     series_id: int | None = None, task_id: int | None = None,
                     ) -> list[LabelAssignment]:
    """Admins list any; others only the assignments on the images of a task they may read."""
    query = select(LabelAssignment).order_by(col(LabelAssignment.id))
    if task_id is not None:
        task = get_task(session, task_id)
        require_task_reader(session, task=task, actor=actor)
        query = query.where(col(LabelAssignment.series_id).in_(
            task_items.task_series_ids(session, task)))
    elif not has_role(actor, Role.admin):
        raise Forbidden("list label assignments by task_id, or ask an admin")
    if label_id is not None:
        query = query.where(LabelAssignment.label_id == label_id)
    if series_id is not None:
        query = query.where(LabelAssignment.series_id == series_id)
    return list(session.exec(query).all())


def delete_assignment(session: Session, *, actor: User, assignment_id: int) -> None:
    require_role(actor, Role.admin)
    remove_assignment(session, actor=actor, assignment=get_assignment(session, assignment_id))
    session.commit()


def get_assignment(session: Session, assignment_id: int) -> LabelAssignment:
    return get_or_not_found(session, LabelAssignment, assignment_id, "label assignment")


def remove_assignment(session: Session, *, actor: User, assignment: LabelAssignment) -> None:
    """Remove one assignment (no commit); refused while annotations or tasks use it."""
    _check_removable(session, assignment, what=f"label assignment {assignment.id}")
    session.delete(assignment)
    audit.record(session, actor=actor, action=AuditAction.label_unassign, entity_type="label_assignment",
                 entity_id=assignment.id,
                 details={"label_id": assignment.label_id, "series_id": assignment.series_id,
                          "created_by_id": assignment.created_by_id})


def removal_blockers(session: Session, assignment_ids: list[int]) -> dict[int, str]:
    """assignment id → why it cannot be removed ("has annotations", "is an item of a task"),
    for those of `assignment_ids` that cannot: pages offer removal only where it is allowed."""
    drawn = set(session.exec(select(Annotation.label_assignment_id).where(
        col(Annotation.label_assignment_id).in_(assignment_ids))).all())
    in_tasks = set(session.exec(select(TaskItem.label_assignment_id).where(
        col(TaskItem.label_assignment_id).in_(assignment_ids))).all())
    return {i: "has annotations" if i in drawn else "is an item of a task"
            for i in assignment_ids if i in drawn or i in in_tasks}


def deletion_blocker(session: Session, *, actor: User, label_id: int) -> str | None:
    """Why the label cannot be deleted, said before anyone tries; None if it can."""
    require_role(actor, Role.admin)
    label = get_label(session, label_id)
    ids = [i for i in session.exec(select(LabelAssignment.id)
                                   .where(LabelAssignment.label_id == label.id)).all() if i]
    reasons = set(removal_blockers(session, ids).values())
    if "has annotations" in reasons:
        return (f"“{label.name}” has annotations, so deleting it would take their meaning: "
                "archive it instead to hide it from new work.")
    if reasons:
        return (f"“{label.name}” is used by tasks, so it cannot be deleted: archive it instead "
                "to hide it from new work.")
    return None


def _check_removable(session: Session, assignment: LabelAssignment, *, what: str) -> None:
    annotations = session.exec(select(Annotation.id).where(
        Annotation.label_assignment_id == assignment.id)).all()
    if annotations:
        raise Conflict(f"{what} has annotations and cannot be removed (archive the label "
                       "instead)", annotation_ids=sorted(annotations))
    tasks = session.exec(select(TaskItem.task_id).where(
        TaskItem.label_assignment_id == assignment.id)).all()
    if tasks:
        raise Conflict(f"{what} is an item of a task", task_ids=sorted(set(tasks)))


def _unique_name(session: Session, name: str) -> None:
    if session.exec(select(Label.id).where(func.lower(Label.name) == name.lower())).first():
        raise Conflict(f"a label named {name!r} already exists")
