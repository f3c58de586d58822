"""Deleting an image nobody has worked on: its index rows (and its study, once empty) and its
files in the store go, and an audit event says so. An image with annotations, or in a task,
stays; pages ask `removal_blocker` first, so they can say why before anyone tries."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from labelstack.db.enums import AuditAction, Role
from labelstack.db.models import Annotation, Instance, LabelAssignment, Series, Study, TaskItem, User
from labelstack.services import audit
from labelstack.services.errors import Conflict, NotFound
from labelstack.services.images import runtime
from labelstack.services.images.shape import current_instances
from labelstack.services.security import require_role
from labelstack.stores import StoreError


@dataclass(frozen=True, kw_only=True, slots=True)
class Removal:
    series_uid: str
    instances: int
    files_left: int
    """Files the store could not remove (the index no longer points at them)."""


def removal_blocker(session: Session, *, series_id: int) -> str | None:
    """Why the image cannot be deleted now, as a sentence; None when it can."""
    assignments = select(LabelAssignment.id).where(LabelAssignment.series_id == series_id)
    drawn = session.exec(select(func.count()).select_from(Annotation).where(
        col(Annotation.label_assignment_id).in_(assignments))).one()
    if drawn:
        return (f"It has {drawn} annotation{'s' if drawn != 1 else ''}: the work on it would "
                "lose its image.")
    tasks = session.exec(select(func.count(sa.distinct(col(TaskItem.task_id)))).where(sa.or_(
        col(TaskItem.series_id) == series_id,
        col(TaskItem.label_assignment_id).in_(assignments)))).one()
    if tasks:
        return (f"It is in {tasks} task{'s' if tasks != 1 else ''}: remove it from "
                f"{'them' if tasks != 1 else 'it'} first.")
    return None


def delete_series(session: Session, *, actor: User, series_uid: str) -> Removal:
    """Delete the image, its label assignments (none of them used) and its files; refused
    (Conflict, nothing changed) while annotations or tasks use it."""
    require_role(actor, Role.admin)
    series = session.exec(select(Series).where(Series.series_uid == series_uid)).first()
    if series is None or series.id is None:
        raise NotFound(f"no series {series_uid} in the index")
    blocker = removal_blocker(session, series_id=series.id)
    if blocker:
        raise Conflict(f"This image cannot be deleted. {blocker}")
    key, keys, _ = current_instances(session, series.id)
    store = runtime.store(series.store)
    study_id = series.study_id
    session.execute(sa.delete(LabelAssignment).where(col(LabelAssignment.series_id) == series.id))
    session.execute(sa.delete(Instance).where(col(Instance.series_id) == series.id))
    session.delete(series)
    session.flush()
    if session.exec(select(Series.id).where(Series.study_id == study_id)).first() is None:
        session.execute(sa.delete(Study).where(col(Study.id) == study_id))
    audit.record(session, actor=actor, action=AuditAction.images_delete, entity_type="series",
                 entity_id=series.id, details={"series_uid": series_uid, "store": series.store,
                                               "instances": len(keys)})
    session.commit()
    runtime.forget(key)
    left = 0
    for key in keys:  # after the commit: a file the store keeps is only an orphan
        try:
            store.remove(key)
        except (OSError, StoreError):
            left += 1
    return Removal(series_uid=series_uid, instances=len(keys), files_left=left)
