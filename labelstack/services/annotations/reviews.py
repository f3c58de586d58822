"""Reviews: per annotation, sequence-numbered, decided by the assignee of a review task.

`accepted` makes the annotation final; `rejected` (comment required) asks for
a new version, which an admin puts into a new annotation task with `rework`;
`corrected` makes the reviewer's own copy the next version of the label
assignment — it starts as a draft copy of the reviewed mask, the reviewer saves
changes into it inside the review task, and when that task finishes (or is
cancelled) it is submitted and awaits review like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AnnotationStatus, AuditAction, ReviewResult
from labelstack.db.models import Annotation, AnnotationRevision, Review, Task, TaskItem, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.annotations import reads, versions
from labelstack.services.annotations.versions import set_annotation_status
from labelstack.services.errors import Conflict, Forbidden, InvalidInput, get_or_not_found
from labelstack.services.tasks import records as tasks


@dataclass(kw_only=True, slots=True)
class Decision:
    review: Review
    annotation: Annotation
    correction: Annotation | None = None


def decide_review(session: Session, *, actor: User, review_id: int, result: ReviewResult | str,
                  comment: str = "") -> Decision:
    """Record the reviewer's result; the annotation's status follows it."""
    review = get_review(session, review_id)
    result = _result(result)
    comment = comment.strip()
    if review.reviewer_id != actor.id:
        raise Forbidden(f"review {review_id} belongs to another reviewer")
    task = session.get(Task, review.task_id) if review.task_id else None
    if task is None or not tasks.works_on(task, actor):
        raise Conflict(f"review {review_id} can be decided only inside its in-progress task")
    annotation = reads.get_annotation(session, review.annotation_id)
    if annotation.author_id == actor.id:
        raise Forbidden("a reviewer may not review their own annotation")
    if result == ReviewResult.rejected and not comment:
        raise InvalidInput("a rejection needs a comment saying what to change")
    decided = session.exec(sa.update(Review).where(
        col(Review.id) == review.id, col(Review.result).is_(None)).values(
        result=result.value, comment=comment, decided_at=utcnow())).rowcount
    if decided != 1:
        session.rollback()
        raise Conflict(f"review {review_id} is already decided", result=review.result)
    before = annotation.status
    set_annotation_status(session, actor=actor, annotation=annotation,
                          status=AnnotationStatus(result.value), task=task)
    correction = _correct(session, actor=actor, annotation=annotation, task=task) \
        if result == ReviewResult.corrected else None
    assert task.id is not None and annotation.id is not None  # both loaded from the database
    _mark_item_done(session, task_id=task.id, annotation_id=annotation.id)
    audit.record(session, actor=actor, action=AuditAction.review_decide, entity_type="review",
                 entity_id=review.id, details={
                     "result": result.value, "annotation_id": annotation.id,
                     "author_id": annotation.author_id, "comment": comment,
                     "status": {"before": before, "after": annotation.status},
                     "correction_annotation_id": correction.id if correction else None})
    session.commit()
    for row in (review, annotation, *(correction and [correction] or [])):
        session.refresh(row)
    return Decision(review=review, annotation=annotation, correction=correction)


def get_review(session: Session, review_id: int) -> Review:
    return get_or_not_found(session, Review, review_id, "review")


def list_reviews(session: Session, *, actor: User, task_id: int | None = None,
                 annotation_id: int | None = None) -> list[Review]:
    """Reviews of the annotations `actor` may read."""
    query = (select(Review).join(Annotation, col(Annotation.id) == Review.annotation_id)
             .where(reads.readable_by(actor)))
    if task_id is not None:
        query = query.where(Review.task_id == task_id)
    if annotation_id is not None:
        query = query.where(Review.annotation_id == annotation_id)
    return list(session.exec(query.order_by(col(Review.annotation_id), col(Review.sequence))).all())


def _correct(session: Session, *, actor: User, annotation: Annotation, task: Task) -> Annotation:
    """The reviewer's copy as the next version, seeded with the reviewed mask."""
    assert annotation.id is not None and actor.id is not None and task.id is not None
    source = reads.latest_revision(session, annotation.id)
    copy = versions.new_version(session, actor=actor,
                                label_assignment_id=annotation.label_assignment_id,
                                author_id=actor.id, task_id=task.id)
    assert copy.id is not None  # flushed by new_version
    if source is not None:
        session.add(AnnotationRevision(annotation_id=copy.id, sequence=1, author_id=actor.id,
                                       content_hash=source.content_hash, shape=source.shape,
                                       mask=source.mask))
    return copy


def _mark_item_done(session: Session, *, task_id: int, annotation_id: int) -> None:
    session.execute(sa.update(TaskItem).where(col(TaskItem.task_id) == task_id,
                                              col(TaskItem.annotation_id) == annotation_id)
                    .values(done=True))


def _result(value: ReviewResult | str) -> ReviewResult:
    try:
        return ReviewResult(str(value))
    except ValueError:
        allowed = ", ".join(r.value for r in ReviewResult)
        raise InvalidInput(f"unknown review result {value!r}; allowed: {allowed}") from None


def read_review(session: Session, *, actor: User, review_id: int) -> Review:
    """A review is readable by whoever may read its annotation."""
    review = get_review(session, review_id)
    reads.read_annotation(session, actor=actor, annotation_id=review.annotation_id)
    return review
