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

from labelstack.db.enums import AnnotationStatus, ReviewResult, Role, TaskType
from labelstack.db.models import Annotation, AnnotationRevision, Review, Task, TaskItem, User
from labelstack.db.types import utcnow
from labelstack.services import annotations, audit, task_items, tasks
from labelstack.services.errors import Conflict, Forbidden, InvalidInput, get_or_not_found
from labelstack.services.security import require_role
from labelstack.services.task_rules import ACTIVE
from labelstack.services.tasks import TaskCreate

# Annotations a review may start on; in_review again when a review task is restarted.
_REVIEWABLE = {AnnotationStatus.submitted, AnnotationStatus.in_review}


@dataclass(kw_only=True, slots=True)
class Decision:
    review: Review
    annotation: Annotation
    correction: Annotation | None = None


def create_reviews_for_task(session: Session, *, task: Task, actor: User) -> list[Review]:
    """Open one review (next sequence per annotation) for each item of a starting review task.

    The reviewer is the assignee and must not be the author of any item. A
    restarted task (reopened by an admin, or cancelled and reopened) keeps its
    reviews: decided ones stay decided and are not looked at again, undecided
    ones go on (their annotation is in review again); only items without a review
    in this task get a new one. The caller commits.
    """
    if task.type != TaskType.review:
        raise Conflict(f"task {task.id} is a {task.type} task, not a review task")
    if task.assignee_id is None:
        raise Conflict(f"task {task.id} has no assignee to review")
    items = session.exec(select(Annotation).join(TaskItem, TaskItem.annotation_id == Annotation.id)
                         .where(TaskItem.task_id == task.id).order_by(TaskItem.position)).all()
    task_items.check_not_author(session, annotation_ids=[a.id for a in items if a.id],
                                reviewer_id=task.assignee_id)
    here = _reviews_here(session, task)
    pending = [a for a in items if a.id not in here or here[a.id].result is None]
    _check_reviewable(pending)
    created = []
    for annotation in pending:
        review = here.get(annotation.id)
        if review is not None:  # an undecided review of this task, restarted
            if annotation.status != AnnotationStatus.in_review:
                set_annotation_status(session, actor=actor, annotation=annotation,
                                      status=AnnotationStatus.in_review, task=task)
            continue
        latest = session.exec(select(sa.func.max(Review.sequence))
                              .where(Review.annotation_id == annotation.id)).one()
        review = Review(annotation_id=annotation.id, sequence=(latest or 0) + 1,
                        reviewer_id=task.assignee_id, task_id=task.id)
        session.add(review)
        annotation.status = AnnotationStatus.in_review
        annotation.updated_at = utcnow()
        session.add(annotation)
        session.flush()
        audit.record(session, actor=actor, action="review.create", entity_type="review",
                     entity_id=review.id, details={"annotation_id": annotation.id,
                                                   "sequence": review.sequence,
                                                   "reviewer_id": task.assignee_id})
        created.append(review)
    _reopen_corrections(session, task=task, actor=actor)
    return created


def release_undecided(session: Session, *, task: Task, actor: User) -> None:
    """A cancelled review task lets go of what it did not decide: those annotations are
    `submitted` again, so a new review task can take them. The caller commits."""
    pending = session.exec(select(Annotation).join(Review, Review.annotation_id == Annotation.id)
                           .where(Review.task_id == task.id, col(Review.result).is_(None),
                                  Annotation.status == AnnotationStatus.in_review)
                           .order_by(Annotation.id)).all()
    for annotation in pending:
        set_annotation_status(session, actor=actor, annotation=annotation,
                              status=AnnotationStatus.submitted, task=task)


def submit_corrections(session: Session, *, task: Task, actor: User) -> None:
    """The reviewer's corrected copies leave draft when their review task finishes (or is
    cancelled): from then on they await review, and no review task can lock one while
    the reviewer still edits it. The caller commits."""
    for copy in _corrections(session, task, AnnotationStatus.draft):
        set_annotation_status(session, actor=actor, annotation=copy,
                              status=AnnotationStatus.submitted, task=task)


def _reopen_corrections(session: Session, *, task: Task, actor: User) -> None:
    """A restarted review task takes its corrected copies back to draft for more editing,
    unless another review task holds one already."""
    held = (select(TaskItem.annotation_id).join(Task, col(Task.id) == TaskItem.task_id)
            .where(Task.type == TaskType.review, col(Task.status).in_(ACTIVE),
                   Task.id != task.id, col(TaskItem.annotation_id).is_not(None)))
    for copy in _corrections(session, task, AnnotationStatus.submitted,
                             col(Annotation.id).not_in(held)):
        set_annotation_status(session, actor=actor, annotation=copy,
                              status=AnnotationStatus.draft, task=task)


def _corrections(session: Session, task: Task, status: AnnotationStatus,
                 *where: sa.ColumnElement[bool]) -> list[Annotation]:
    return list(session.exec(select(Annotation).where(
        Annotation.task_id == task.id, Annotation.status == status, *where)
        .order_by(Annotation.id)).all())


def check_reopen(session: Session, *, task: Task) -> None:
    """A review task is reopened only if what it has left to review still awaits review.

    Its undecided items may have been reviewed in another task while it was
    cancelled; reopening it then would leave a task that can never be started.
    """
    items = session.exec(select(Annotation).join(TaskItem, TaskItem.annotation_id == Annotation.id)
                         .where(TaskItem.task_id == task.id).order_by(TaskItem.position)).all()
    here = _reviews_here(session, task)
    _check_reviewable([a for a in items if a.id not in here or here[a.id].result is None])


def set_annotation_status(session: Session, *, actor: User, annotation: Annotation,
                          status: AnnotationStatus, task: Task) -> None:
    """Move an annotation to `status` because of `task`, with its audit event (no commit)."""
    before = annotation.status
    annotation.status = status
    annotation.updated_at = utcnow()
    annotation.row_version += 1
    session.add(annotation)
    audit.record(session, actor=actor, action="annotation.status", entity_type="annotation",
                 entity_id=annotation.id, details={"status": {"before": before, "after": status},
                                                   "task_id": task.id})


def check_reviewable(session: Session, *, annotation_ids: list[int]) -> None:
    """A new review task holds only work awaiting review (a draft would block its start)."""
    _check_reviewable(list(session.exec(select(Annotation).where(
        col(Annotation.id).in_(annotation_ids)).order_by(Annotation.id)).all()))


def _reviews_here(session: Session, task: Task) -> dict[int, Review]:
    return {r.annotation_id: r for r in session.exec(
        select(Review).where(Review.task_id == task.id)).all()}


def _check_reviewable(pending: list[Annotation]) -> None:
    not_ready = [a.id for a in pending if a.status not in _REVIEWABLE]
    if not_ready:
        raise Conflict("only saved annotations awaiting review can be reviewed",
                       annotation_ids=not_ready)


def undecided_reviews(session: Session, *, task: Task) -> list[Review]:
    """Reviews of the task without a result: finishing the task needs none left."""
    query = select(Review).where(Review.task_id == task.id, col(Review.result).is_(None))
    return list(session.exec(query.order_by(Review.id)).all())


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
    annotation = annotations.get_annotation(session, review.annotation_id)
    if annotation.author_id == actor.id:
        raise Forbidden("a reviewer may not review their own annotation")
    if result == ReviewResult.rejected and not comment:
        raise InvalidInput("a rejection needs a comment saying what to change")
    decided = session.execute(sa.update(Review).where(
        Review.id == review.id, col(Review.result).is_(None)).values(
        result=result.value, comment=comment, decided_at=utcnow())).rowcount
    if decided != 1:
        session.rollback()
        raise Conflict(f"review {review_id} is already decided", result=review.result)
    before = annotation.status
    annotation.status = AnnotationStatus(result.value)
    annotation.updated_at = utcnow()
    annotation.row_version += 1
    session.add(annotation)
    correction = _correct(session, actor=actor, annotation=annotation, task=task) \
        if result == ReviewResult.corrected else None
    _mark_item_done(session, task_id=task.id, annotation_id=annotation.id)
    audit.record(session, actor=actor, action="review.decide", entity_type="review",
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
    query = (select(Review).join(Annotation, Annotation.id == Review.annotation_id)
             .where(annotations.readable_by(actor)))
    if task_id is not None:
        query = query.where(Review.task_id == task_id)
    if annotation_id is not None:
        query = query.where(Review.annotation_id == annotation_id)
    return list(session.exec(query.order_by(Review.annotation_id, Review.sequence)).all())


def _correct(session: Session, *, actor: User, annotation: Annotation, task: Task) -> Annotation:
    """The reviewer's copy as the next version, seeded with the reviewed mask."""
    source = annotations.latest_revision(session, annotation.id)
    assert actor.id is not None and task.id is not None
    copy = annotations.new_version(session, actor=actor,
                                   label_assignment_id=annotation.label_assignment_id,
                                   author_id=actor.id, task_id=task.id)
    if source is not None:
        session.add(AnnotationRevision(annotation_id=copy.id, sequence=1, author_id=actor.id,
                                       content_hash=source.content_hash, shape=source.shape,
                                       mask=source.mask))
    return copy


def _mark_item_done(session: Session, *, task_id: int, annotation_id: int) -> None:
    session.execute(sa.update(TaskItem).where(TaskItem.task_id == task_id,
                                              TaskItem.annotation_id == annotation_id)
                    .values(done=True))


def _result(value: ReviewResult | str) -> ReviewResult:
    try:
        return ReviewResult(str(value))
    except ValueError:
        allowed = ", ".join(r.value for r in ReviewResult)
        raise InvalidInput(f"unknown review result {value!r}; allowed: {allowed}") from None


def rework_rejected(session: Session, *, actor: User, annotation_ids: list[int],
                    assignee_id: int | None = None, name: str | None = None) -> Task:
    """One action for an admin: a new annotation task over the rejected annotations' labels.

    Only the latest version of a label assignment can be reworked, and only if
    it was rejected; the task rules (exclusivity, assignee role) apply as for
    any task, and the new versions are created when the task starts.
    """
    require_role(actor, Role.admin)
    found = [annotations.get_annotation(session, i) for i in dict.fromkeys(annotation_ids)]
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
    return tasks.create_task(session, actor=actor, data=data)


def read_review(session: Session, *, actor: User, review_id: int) -> Review:
    """A review is readable by whoever may read its annotation."""
    review = get_review(session, review_id)
    annotations.read_annotation(session, actor=actor, annotation_id=review.annotation_id)
    return review
