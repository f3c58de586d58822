"""Saving an annotation: each save of new content appends one revision.

Two clients saving the same annotation at once must never corrupt it. The
annotation's `row_version` is bumped by a guarded UPDATE before anything is
written (it also takes the row's write lock), so of two concurrent saves one
wins and the other gets a 409; the unique (annotation_id, sequence) constraint
is the last line of defence. A client may send the `row_version` it loaded to
refuse overwriting a save it has not seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col

from labelstack.annotation.codec import (
    MaskFormatError,
    PackedMask,
    mask_from_npy,
    shape_to_text,
)
from labelstack.db.enums import AnnotationStatus, AuditAction, TaskStatus
from labelstack.db.models import Annotation, AnnotationRevision, Task, TaskItem, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict, Forbidden, InvalidInput
from labelstack.services.races import lost_race_is_conflict
from labelstack.services.tasks import records as tasks

# Active time a single save may claim: longer gaps are idle time, not work.
MAX_SECONDS_PER_SAVE = 4 * 3600.0
# Room beyond one byte per voxel for the .npy header (at most 64 KiB) and multipart framing.
UPLOAD_ALLOWANCE = 64 * 1024
EDITABLE = (AnnotationStatus.draft, AnnotationStatus.submitted)


@dataclass(kw_only=True, slots=True)
class SaveResult:
    saved: bool
    reason: str | None
    annotation: Annotation
    revision: AnnotationRevision | None


def upload_limit(session: Session, *, actor: User, annotation_id: int) -> int:
    """The most bytes a `.npy` upload for this annotation may have: z·y·x + allowance.

    A bool or uint8 mask takes one byte per voxel, so anything larger cannot be a
    valid mask; the API reads at most this much instead of any body it is sent. The
    same checks as a save come first, so a caller who may not save learns nothing more.
    """
    annotation = reads.get_annotation(session, annotation_id)
    require_saver(session, actor=actor, annotation=annotation)
    return math.prod(reads.expected_shape(session, annotation)) + UPLOAD_ALLOWANCE


def save_npy(session: Session, *, actor: User, annotation_id: int, data: bytes,
             time_spent: float = 0.0, row_version: int | None = None) -> SaveResult:
    """Save an uploaded `.npy` mask (scripts, AI pre-annotation)."""
    try:
        mask = mask_from_npy(data)
    except MaskFormatError as exc:
        raise InvalidInput(f"bad mask upload: {exc}") from None
    return save_mask(session, actor=actor, annotation_id=annotation_id, mask=mask,
                     time_spent=time_spent, row_version=row_version)


def save_mask(session: Session, *, actor: User, annotation_id: int,
              mask: np.ndarray | PackedMask, time_spent: float = 0.0,
              row_version: int | None = None) -> SaveResult:
    """Append a revision unless the content is unchanged; see the module docstring. The
    editor hands over its mask already packed (packing is cheaper than copying it)."""
    annotation = reads.get_annotation(session, annotation_id)
    task = require_saver(session, actor=actor, annotation=annotation)
    shape = reads.expected_shape(session, annotation)
    if isinstance(mask, np.ndarray) and mask.dtype != np.bool_:
        raise InvalidInput(f"mask dtype must be bool, got {mask.dtype}")
    packed = mask if isinstance(mask, PackedMask) else PackedMask.of(mask)
    if packed.shape != shape:
        raise InvalidInput(f"mask shape {packed.shape} does not match the image (z, y, x) {shape}",
                           expected_shape=list(shape), got_shape=list(packed.shape))
    seconds = _seconds(time_spent)
    expected = annotation.row_version
    if row_version is not None and row_version != expected:
        raise Conflict("the annotation was saved by someone else since you loaded it; reload it",
                       row_version=expected)
    digest = packed.content_hash()
    assert annotation.id is not None  # loaded from the database
    latest = reads.latest_revision(session, annotation.id)
    if latest is not None and latest.content_hash == digest:
        return SaveResult(saved=False, reason="unchanged", annotation=annotation, revision=latest)
    before = after = annotation.status
    # Saving keeps the work with its author: it becomes reviewable (submitted) when its
    # annotation task finishes, a reviewer's correction when its review task does.
    with lost_race_is_conflict(session, _concurrent()):
        revision = _append(session, annotation, expected=expected, author=actor, packed=packed,
                           digest=digest, seconds=seconds, status=after)
        _account(session, task=task, annotation=annotation, seconds=seconds)
        audit.record(session, actor=actor, action=AuditAction.annotation_save, entity_type="annotation",
                     entity_id=annotation.id, details={
                         "sequence": revision.sequence, "time_spent": seconds,
                         "content_hash": digest, "task_id": task.id,
                         "status": {"before": before, "after": after}})
        session.commit()
    session.refresh(annotation)
    session.refresh(revision)
    return SaveResult(saved=True, reason=None, annotation=annotation, revision=revision)


def require_saver(session: Session, *, actor: User, annotation: Annotation) -> Task:
    """Only the author saves, inside their in-progress task, while the work is open."""
    if annotation.author_id != actor.id:
        raise Forbidden("only the author of an annotation may save it")
    if annotation.status not in EDITABLE:
        raise Conflict(f"annotation {annotation.id} is {annotation.status} and can no longer "
                       "be changed", status=annotation.status)
    task = session.get(Task, annotation.task_id) if annotation.task_id else None
    if task is None or not tasks.works_on(task, actor):
        raise Conflict("an annotation is saved only inside its in-progress task; start the task",
                       task_id=annotation.task_id, task_status=task.status if task else None)
    return task


def saver_condition(*, actor: User, annotation_id: int) -> sa.ColumnElement[bool]:
    """`require_saver` as one SQL condition, for guarding a write in the same statement (the
    editor checks it with every stroke; `require_saver` then says why it failed)."""
    return sa.exists().where(
        col(Annotation.id) == annotation_id, col(Annotation.author_id) == actor.id,
        col(Annotation.status).in_(EDITABLE), col(Task.id) == col(Annotation.task_id),
        col(Task.status) == TaskStatus.in_progress, col(Task.assignee_id) == actor.id)


def _append(session: Session, annotation: Annotation, *, expected: int, author: User,
            packed: PackedMask, digest: str, seconds: float,
            status: str) -> AnnotationRevision:
    assert annotation.id is not None  # loaded from the database
    bumped = session.exec(
        sa.update(Annotation).where(col(Annotation.id) == annotation.id,
                                    col(Annotation.row_version) == expected)
        .values(row_version=expected + 1, status=str(status),
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if bumped.rowcount != 1:
        session.rollback()
        raise _concurrent()
    latest: int | None = session.execute(sa.select(sa.func.max(AnnotationRevision.sequence)).where(
        col(AnnotationRevision.annotation_id) == annotation.id)).scalar_one()
    revision = AnnotationRevision(annotation_id=annotation.id, sequence=(latest or 0) + 1,
                                  author_id=author.id, time_spent=seconds, content_hash=digest,
                                  shape=shape_to_text(packed.shape), mask=packed.encoded())
    session.add(revision)
    session.flush()
    return revision


def _account(session: Session, *, task: Task, annotation: Annotation, seconds: float) -> None:
    """Add the time to the task (atomically: saves may race) and mark the work item done."""
    session.execute(sa.update(Task).where(col(Task.id) == task.id)
                    .values(time_spent=Task.time_spent + seconds)
                    .execution_options(synchronize_session=False))
    session.execute(sa.update(TaskItem).where(
        col(TaskItem.task_id) == task.id,
        col(TaskItem.label_assignment_id) == annotation.label_assignment_id).values(done=True))


def _seconds(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise InvalidInput("time_spent must be a number of seconds ≥ 0")
    return min(float(value), MAX_SECONDS_PER_SAVE)


def _concurrent() -> Conflict:
    return Conflict("the annotation was saved by someone else at the same time; reload it and "
                    "try again")
