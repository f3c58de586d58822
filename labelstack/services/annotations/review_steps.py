"""What a review task does to its annotations at each step of its flow: reviews opened on
start, undecided work released on cancel, the reviewer's corrected copies submitted on
finish and taken back on a restart."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AnnotationStatus, AuditAction, TaskType
from labelstack.db.models import Annotation, Review, Task, TaskItem, User
from labelstack.services import audit
from labelstack.services.annotations.versions import set_annotation_status
from labelstack.services.errors import Conflict
from labelstack.services.tasks import items as task_items
from labelstack.services.tasks.rules import ACTIVE

# Annotations a review may start on; in_review again when a review task is restarted.
_REVIEWABLE = {AnnotationStatus.submitted, AnnotationStatus.in_review}


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
    items = session.exec(select(Annotation).join(TaskItem, col(TaskItem.annotation_id) == Annotation.id)
                         .where(TaskItem.task_id == task.id).order_by(col(TaskItem.position))).all()
    task_items.check_not_author(session, annotation_ids=[a.id for a in items if a.id],
                                reviewer_id=task.assignee_id)
    here = _reviews_here(session, task)
    pending = [a for a in items if a.id not in here or here[a.id].result is None]
    _check_reviewable(pending)
    created = []
    for annotation in pending:
        assert annotation.id is not None  # loaded from the database
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
        set_annotation_status(session, actor=actor, annotation=annotation,
                              status=AnnotationStatus.in_review, task=task)
        session.flush()
        audit.record(session, actor=actor, action=AuditAction.review_create, entity_type="review",
                     entity_id=review.id, details={"annotation_id": annotation.id,
                                                   "sequence": review.sequence,
                                                   "reviewer_id": task.assignee_id})
        created.append(review)
    _reopen_corrections(session, task=task, actor=actor)
    return created


def release_undecided(session: Session, *, task: Task, actor: User) -> None:
    """A cancelled review task lets go of what it did not decide: those annotations are
    `submitted` again, so a new review task can take them. The caller commits."""
    pending = session.exec(select(Annotation).join(Review, col(Review.annotation_id) == Annotation.id)
                           .where(Review.task_id == task.id, col(Review.result).is_(None),
                                  Annotation.status == AnnotationStatus.in_review)
                           .order_by(col(Annotation.id))).all()
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
        .order_by(col(Annotation.id))).all())


def check_reopen(session: Session, *, task: Task) -> None:
    """A review task is reopened only if what it has left to review still awaits review.

    Its undecided items may have been reviewed in another task while it was
    cancelled; reopening it then would leave a task that can never be started.
    """
    items = session.exec(select(Annotation).join(TaskItem, col(TaskItem.annotation_id) == Annotation.id)
                         .where(TaskItem.task_id == task.id).order_by(col(TaskItem.position))).all()
    here = _reviews_here(session, task)
    _check_reviewable([a for a in items if a.id not in here or here[a.id].result is None])


def check_reviewable(session: Session, *, annotation_ids: list[int]) -> None:
    """A new review task holds only work awaiting review (a draft would block its start)."""
    _check_reviewable(list(session.exec(select(Annotation).where(
        col(Annotation.id).in_(annotation_ids)).order_by(col(Annotation.id))).all()))


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
    return list(session.exec(query.order_by(col(Review.id))).all())
