"""One image as its details page shows it to an admin: its labels, each label's annotation
versions with their state, and the tasks the image is in (by itself, by a label assignment or
by an annotation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import Role
from labelstack.db.models import Annotation, Label, LabelAssignment, Series, Task, TaskItem, User
from labelstack.services.images import catalog
from labelstack.services.images.index import SeriesRow
from labelstack.services.images.removal import removal_blocker
from labelstack.services.security import require_role


@dataclass(frozen=True, kw_only=True, slots=True)
class VersionRow:
    id: int
    label: str
    color: str
    version: int
    status: str
    author: str
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelRow:
    assignment_id: int
    label: str
    color: str
    archived: bool
    versions: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskRow:
    id: int
    name: str
    type: str
    status: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SiblingRow:
    """Another series of the same study: browsing goes study → series from here."""

    series_uid: str
    modality: str
    description: str
    images: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageDetails:
    row: SeriesRow
    labels: list[LabelRow]
    annotations: list[VersionRow]
    tasks: list[TaskRow]
    study: list[SiblingRow]
    removal_blocker: str | None
    """Why the image cannot be deleted now; None when it can."""


def image_details(session: Session, *, actor: User, series_uid: str) -> ImageDetails:
    require_role(actor, Role.admin)
    row = catalog.series_row(session, series_uid)
    pairs = session.exec(select(LabelAssignment, Label)
                         .join(Label, col(Label.id) == LabelAssignment.label_id)
                         .where(LabelAssignment.series_id == row.id)
                         .order_by(sa.func.lower(Label.name))).all()
    label_of = {a.id: label for a, label in pairs}
    versions = session.exec(
        select(Annotation, User).join(User, col(User.id) == Annotation.author_id, isouter=True)
        .where(col(Annotation.label_assignment_id).in_(list(label_of)))
        .order_by(col(Annotation.label_assignment_id), col(Annotation.version))).all()
    annotations = [VersionRow(id=a.id or 0, label=label_of[a.label_assignment_id].name,
                              color=label_of[a.label_assignment_id].color, version=a.version,
                              status=a.status, author=u.display_name if u else "—",
                              updated_at=a.updated_at) for a, u in versions]
    counts: dict[int, int] = {}
    for a, _ in versions:
        counts[a.label_assignment_id] = counts.get(a.label_assignment_id, 0) + 1
    labels = [LabelRow(assignment_id=a.id or 0, label=label.name, color=label.color,
                       archived=label.archived, versions=counts.get(a.id or 0, 0))
              for a, label in pairs]
    holds = sa.or_(col(TaskItem.series_id) == row.id,
                   col(TaskItem.label_assignment_id).in_(list(label_of)),
                   col(TaskItem.annotation_id).in_([v.id for v in annotations]))
    tasks = session.exec(select(Task).where(col(Task.id).in_(
        select(TaskItem.task_id).where(holds))).order_by(col(Task.id).desc())).all()
    study_id = select(Series.study_id).where(Series.id == row.id).scalar_subquery()
    siblings = session.exec(select(Series).where(Series.study_id == study_id)
                            .order_by(col(Series.series_number), col(Series.id))).all()
    return ImageDetails(row=row, labels=labels, annotations=annotations,
                        tasks=[TaskRow(id=t.id or 0, name=t.name, type=t.type, status=t.status)
                               for t in tasks],
                        study=[SiblingRow(series_uid=s.series_uid, modality=s.modality,
                                          description=s.series_description
                                          or f"Series {s.series_number or ''}".strip(),
                                          images=max(s.number_of_instances, s.number_of_frames))
                               for s in siblings],
                        removal_blocker=removal_blocker(session, series_id=row.id))
