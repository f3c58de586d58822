"""What each task type does at each step of the status flow, as one table.

`transitions` runs the common part of every step (permission, version bump, audit) and
then the hook of the task's type from `LIFECYCLES`; a type with nothing to do at a step
inherits the no-op of `Lifecycle`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from labelstack.db.enums import TaskType
from labelstack.db.models import Annotation, Task, User
from labelstack.services.annotations import journal, reads, review_steps, versions
from labelstack.services.errors import Conflict
from labelstack.services.tasks import items


class Lifecycle:
    """The steps of a task type; the default does nothing (label tasks)."""

    def check_create(self, session: Session, *, ids: Sequence[int], assignee_id: int | None) -> None:
        """Refuse items this type cannot hold for this assignee."""

    def check_assignee(self, session: Session, *, task: Task, assignee_id: int | None) -> None:
        """Refuse an assignee (take, edit) this task's items rule out."""

    def start(self, session: Session, *, task: Task, actor: User) -> None:
        """Create the work the assignee does in the task."""

    def finish(self, session: Session, *, task: Task, actor: User) -> None:
        """Refuse to finish while work is missing; hand the work on."""

    def reopen(self, session: Session, *, task: Task) -> None:
        """Refuse a reopen that would leave a task that can never be started."""

    def cancel(self, session: Session, *, task: Task, actor: User) -> None:
        """Let go of what the task holds."""


class AnnotationLifecycle(Lifecycle):
    def start(self, session: Session, *, task: Task, actor: User) -> None:
        versions.create_annotations_for_task(session, task=task, actor=actor)

    def finish(self, session: Session, *, task: Task, actor: User) -> None:
        unsaved = [a.id for a in versions.unsaved_annotations(session, task=task) if a.id is not None]
        if unsaved:
            names = "; ".join(s.title for s in reads.summaries(session, unsaved))
            raise Conflict("every annotation must be saved at least once before finishing; "
                           f"not saved yet: {names}", annotation_ids=unsaved)
        ids = session.exec(select(Annotation.id).where(Annotation.task_id == task.id)).all()
        waiting = journal.has_pending(session, [i for i in ids if i is not None])
        if waiting:
            names = "; ".join(s.title for s in reads.summaries(session, waiting))
            raise Conflict("some strokes are not saved into a revision yet: open the task and "
                           f"save (Alt+S) first: {names}", annotation_ids=waiting)
        versions.submit_task_work(session, task=task, actor=actor)


class ReviewLifecycle(Lifecycle):
    def check_create(self, session: Session, *, ids: Sequence[int], assignee_id: int | None) -> None:
        items.check_not_author(session, annotation_ids=ids, reviewer_id=assignee_id)
        review_steps.check_reviewable(session, annotation_ids=list(ids))

    def check_assignee(self, session: Session, *, task: Task, assignee_id: int | None) -> None:
        items.check_not_author(session, annotation_ids=items.item_ids(session, task),
                               reviewer_id=assignee_id)

    def start(self, session: Session, *, task: Task, actor: User) -> None:
        review_steps.create_reviews_for_task(session, task=task, actor=actor)

    def finish(self, session: Session, *, task: Task, actor: User) -> None:
        undecided = review_steps.undecided_reviews(session, task=task)
        if undecided:
            raise Conflict("every review needs a result before finishing",
                           review_ids=[r.id for r in undecided])
        review_steps.submit_corrections(session, task=task, actor=actor)

    def reopen(self, session: Session, *, task: Task) -> None:
        review_steps.check_reopen(session, task=task)

    def cancel(self, session: Session, *, task: Task, actor: User) -> None:
        review_steps.release_undecided(session, task=task, actor=actor)
        review_steps.submit_corrections(session, task=task, actor=actor)


LIFECYCLES: dict[TaskType, Lifecycle] = {
    TaskType.label: Lifecycle(),
    TaskType.annotation: AnnotationLifecycle(),
    TaskType.review: ReviewLifecycle(),
}
