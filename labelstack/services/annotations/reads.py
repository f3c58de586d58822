"""Annotations: one label on one image by one author, versioned per label assignment.

Status of an annotation (`AnnotationStatus`), kept simple on purpose:
draft (created when its task starts, nothing saved) → submitted (saved at
least once; awaits review) → in_review (a review task started on it) →
accepted (final) | rejected (needs a new version) | corrected (superseded by
the reviewer's corrected copy, the next version: a draft the reviewer edits
inside the review task, submitted when that task finishes or is cancelled).

Read access is one rule, used by every read here and in the other workflow
services: admins read all; others read their own work, what sits in their
review tasks, and accepted (final) annotations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlalchemy.orm.strategy_options import _AbstractLoad
from sqlmodel import Session, col, or_, select

from labelstack.annotation.codec import decode_mask, shape_from_text
from labelstack.db.enums import AnnotationStatus, Role, TaskType
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
from labelstack.services.errors import Conflict, Forbidden, NotFound, get_or_not_found
from labelstack.services.images.index import series_titles
from labelstack.services.security import has_role
from labelstack.services.tasks.rules import ACTIVE


@dataclass(frozen=True, kw_only=True, slots=True)
class AnnotationSummary:
    """What people see of an annotation in lists and messages: which label on which image,
    which version, by whom (a display name: reviewers may not list users themselves)."""

    id: int
    version: int
    status: str
    label: str
    color: str
    series_id: int
    image: str
    author: str

    @property
    def title(self) -> str:
        """For messages, e.g. "Lung on CT · Chest · Phantom DEMO-CT-01"."""
        return f"{self.label} on {self.image}"


def get_annotation(session: Session, annotation_id: int) -> Annotation:
    return get_or_not_found(session, Annotation, annotation_id, "annotation")


def readable_by(actor: User) -> sa.ColumnElement[bool]:
    """SQL condition: the annotations `actor` may read (see the module docstring)."""
    if has_role(actor, Role.admin):
        return sa.true()
    in_my_review_tasks = (select(TaskItem.annotation_id).join(Task, col(Task.id) == TaskItem.task_id)
                          .where(Task.type == TaskType.review, Task.assignee_id == actor.id))
    reviewed_by_me = select(Review.annotation_id).where(Review.reviewer_id == actor.id)
    return or_(Annotation.author_id == actor.id, Annotation.status == AnnotationStatus.accepted,
               col(Annotation.id).in_(in_my_review_tasks), col(Annotation.id).in_(reviewed_by_me))


def read_annotation(session: Session, *, actor: User, annotation_id: int) -> Annotation:
    """The annotation if `actor` may read it; 404 if missing, 403 if not theirs to see."""
    annotation = get_annotation(session, annotation_id)
    allowed = session.exec(select(Annotation.id).where(Annotation.id == annotation_id,
                                                       readable_by(actor))).first()
    if allowed is None:
        raise Forbidden(f"you may not read annotation {annotation_id}")
    return annotation


def list_annotations(session: Session, *, actor: User, task_id: int | None = None,
                     label_assignment_id: int | None = None) -> list[Annotation]:
    query = select(Annotation).where(readable_by(actor))
    if task_id is not None:
        query = query.where(Annotation.task_id == task_id)
    if label_assignment_id is not None:
        query = query.where(Annotation.label_assignment_id == label_assignment_id)
    return list(session.exec(query.order_by(col(Annotation.label_assignment_id),
                                            col(Annotation.version))).all())


def describe(session: Session, *, actor: User,
             annotation_ids: Iterable[int]) -> list[AnnotationSummary]:
    """Summaries of the given annotations that `actor` may read, by id."""
    return _summaries(session, col(Annotation.id).in_(list(annotation_ids)), readable_by(actor))


def summaries(session: Session, annotation_ids: Iterable[int]) -> list[AnnotationSummary]:
    """Summaries without the read rule: only for telling a task's assignee about the task's
    own content (e.g. what is left to save), which they see as its items anyway."""
    return _summaries(session, col(Annotation.id).in_(list(annotation_ids)))


def awaiting_review(session: Session, *, actor: User) -> list[AnnotationSummary]:
    """Submitted annotations (corrected copies once their review task is over) that no
    active review task holds yet: what a new review task can be made of."""
    in_review_tasks = (select(TaskItem.annotation_id).join(Task, col(Task.id) == TaskItem.task_id)
                       .where(Task.type == TaskType.review, col(Task.status).in_(ACTIVE),
                              col(TaskItem.annotation_id).is_not(None)))
    return _summaries(session, col(Annotation.status) == AnnotationStatus.submitted,
                      col(Annotation.id).not_in(in_review_tasks), readable_by(actor))


def list_revisions(session: Session, *, actor: User, annotation_id: int) -> list[AnnotationRevision]:
    read_annotation(session, actor=actor, annotation_id=annotation_id)
    return revisions_of(session, annotation_id)


def revisions_of(session: Session, annotation_id: int) -> list[AnnotationRevision]:
    """Revision metadata, oldest first; the mask bytes stay in the database (`without_mask`)."""
    query = (select(AnnotationRevision).options(without_mask())
             .where(AnnotationRevision.annotation_id == annotation_id))
    return list(session.exec(query.order_by(col(AnnotationRevision.sequence))).all())


def without_mask() -> _AbstractLoad:
    """Loader option: leave `AnnotationRevision.mask` unloaded, for reads of metadata only
    (a mask is up to megabytes; reading it on a detached row raises instead)."""
    # sqlmodel types the class attribute as `bytes`; it is an InstrumentedAttribute.
    return defer(AnnotationRevision.mask, raiseload=True)  # type: ignore[arg-type]


def latest_revision(session: Session, annotation_id: int) -> AnnotationRevision | None:
    query = select(AnnotationRevision).where(AnnotationRevision.annotation_id == annotation_id)
    return session.exec(query.order_by(col(AnnotationRevision.sequence).desc())).first()


def revision_mask(session: Session, *, actor: User, annotation_id: int,
                  sequence: int) -> np.ndarray:
    """The mask saved in one revision, shaped (z, y, x)."""
    read_annotation(session, actor=actor, annotation_id=annotation_id)
    revision = session.exec(select(AnnotationRevision).where(
        AnnotationRevision.annotation_id == annotation_id,
        AnnotationRevision.sequence == sequence)).first()
    if revision is None:
        raise NotFound(f"annotation {annotation_id} has no revision {sequence}")
    return decode_mask(revision.mask, shape_from_text(revision.shape))


def image_of(session: Session, annotation: Annotation) -> Series:
    """The series the annotation's label is assigned to; 409 when it was removed."""
    assignment = session.get(LabelAssignment, annotation.label_assignment_id)
    series = session.get(Series, assignment.series_id) if assignment else None
    if series is None:
        raise Conflict(f"the image of annotation {annotation.id} is gone")
    return series


def expected_shape(session: Session, annotation: Annotation) -> tuple[int, int, int]:
    """(z, y, x) of the image volume the annotation's label is assigned to."""
    assignment = session.get(LabelAssignment, annotation.label_assignment_id)
    series = session.get(Series, assignment.series_id) if assignment else None
    if series is None:
        raise NotFound(f"the image of annotation {annotation.id} is gone")
    shape = (series.number_of_frames or series.number_of_instances, series.rows or 0,
             series.columns or 0)
    if 0 in shape:
        raise Conflict(f"image {series.id} has no known size yet (z, y, x = {shape})")
    return shape


def _summaries(session: Session, *where: sa.ColumnElement[bool]) -> list[AnnotationSummary]:
    """One query for annotations with their label and author, one for the image titles."""
    rows = session.exec(
        select(Annotation, LabelAssignment, Label, User)
        .join(LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
        .join(Label, col(Label.id) == LabelAssignment.label_id)
        .join(User, col(User.id) == Annotation.author_id, isouter=True)
        .where(*where).order_by(col(Annotation.id))).all()
    titles = series_titles(session, (pair.series_id for _, pair, _, _ in rows))
    return [AnnotationSummary(id=a.id, version=a.version, status=a.status, label=label.name,
                              color=label.color, series_id=pair.series_id,
                              image=titles.get(pair.series_id, f"image {pair.series_id}"),
                              author=author.display_name if author else "")
            for a, pair, label, author in rows if a.id is not None]


