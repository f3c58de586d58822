"""Two clients saving one annotation, or changing one task's status, at once: one wins,
the others get a clear 409.

Each thread has its own session (its own connection), like two server workers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sqlmodel import Session, select

from labelstack.annotation.codec import decode_mask, shape_from_text
from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, AnnotationRevision, AuditEvent, Review, Task, User
from labelstack.services.annotations import revisions
from labelstack.services.errors import Conflict
from labelstack.services.workflow import transitions
from tests.integration.threads import in_threads
from tests.integration.workflow.annotation_helpers import (
    annotation_task,
    blob,
    make_assignment,
    review_task,
)

CLIENTS = 4


@pytest.fixture
def target(session: Session, make_user) -> tuple[Annotation, int]:
    admin, author = make_user("admin"), make_user("annotator")
    task = annotation_task(session, admin, author, [make_assignment(session)])
    annotation = session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    revisions.save_mask(session, actor=author, annotation_id=annotation.id, mask=blob())
    session.refresh(annotation)
    return annotation, author.id


def _race(work: Callable[[Session, int], object]) -> list[object]:
    """Run `work(session, i)` in CLIENTS threads released together; results or exceptions."""
    return in_threads(work, CLIENTS, together=True)


def _save(annotation: Annotation, author_id: int, *, row_version: int | None):
    def work(s: Session, i: int) -> object:
        author = s.get(User, author_id)
        return revisions.save_mask(s, actor=author, annotation_id=annotation.id,
                                   mask=blob(size=3 + i), time_spent=10 + i,
                                   row_version=row_version)
    return work


def _check_not_corrupt(session: Session, annotation: Annotation, wins: list) -> None:
    session.expire_all()
    stored = session.exec(select(AnnotationRevision).where(
        AnnotationRevision.annotation_id == annotation.id)
        .order_by(AnnotationRevision.sequence)).all()
    assert [r.sequence for r in stored] == list(range(1, 2 + len(wins)))
    masks = {blob().tobytes()} | {blob(size=3 + i).tobytes() for i in range(CLIENTS)}
    for revision in stored:
        assert decode_mask(revision.mask, shape_from_text(revision.shape)).tobytes() in masks
    fresh = session.get(Annotation, annotation.id)
    assert fresh.row_version == 2 + len(wins)
    saves = session.exec(select(AuditEvent).where(AuditEvent.action == "annotation.save",
                                                  AuditEvent.entity_id == annotation.id)).all()
    assert len(saves) == 1 + len(wins)
    task = session.get(Task, annotation.task_id)
    assert task.time_spent == pytest.approx(sum(w.revision.time_spent for w in wins))


def test_same_loaded_version_exactly_one_wins(session: Session, target) -> None:
    annotation, author_id = target
    outcomes = _race(_save(annotation, author_id, row_version=annotation.row_version))
    wins = [o for o in outcomes if isinstance(o, revisions.SaveResult)]
    losers = [o for o in outcomes if not isinstance(o, revisions.SaveResult)]
    assert len(wins) == 1 and wins[0].saved
    assert all(isinstance(o, Conflict) and o.status_code == 409 for o in losers), losers
    assert all("someone else" in o.detail for o in losers)
    _check_not_corrupt(session, annotation, wins)


def test_blind_saves_never_corrupt(session: Session, target) -> None:
    annotation, author_id = target
    outcomes = _race(_save(annotation, author_id, row_version=None))
    wins = [o for o in outcomes if isinstance(o, revisions.SaveResult)]
    assert wins and all(w.saved for w in wins)
    assert all(isinstance(o, Conflict) for o in outcomes if o not in wins), outcomes
    _check_not_corrupt(session, annotation, wins)
    assert np.unique([w.revision.sequence for w in wins]).size == len(wins)


def _set_status(task_id: int, actor_ids: list[int], status: TaskStatus,
                row_version: int | None = None):
    def work(s: Session, i: int) -> object:
        actor = s.get(User, actor_ids[i % len(actor_ids)])
        return transitions.set_status(s, actor=actor, task_id=task_id, status=status,
                                row_version=row_version)
    return work


def _one_wins(outcomes: list[object]) -> list[Task]:
    wins = [o for o in outcomes if isinstance(o, Task)]
    losers = [o for o in outcomes if not isinstance(o, Task)]
    assert len(wins) == 1, outcomes
    assert all(isinstance(o, Conflict) and o.status_code == 409 for o in losers), losers
    return wins


def test_starting_an_annotation_task_at_once_one_wins(session: Session, make_user) -> None:
    admin, author = make_user("admin"), make_user("annotator")
    task = annotation_task(session, admin, author, [make_assignment(session),
                                                    make_assignment(session)], start=False)
    _one_wins(_race(_set_status(task.id, [author.id], TaskStatus.in_progress)))
    session.expire_all()
    made = session.exec(select(Annotation).where(Annotation.task_id == task.id)).all()
    assert sorted(a.version for a in made) == [1, 1]
    assert session.get(Task, task.id).status == TaskStatus.in_progress


def test_starting_a_review_task_at_once_one_wins(session: Session, make_user) -> None:
    admin, author, reviewer = make_user("admin"), make_user("annotator"), make_user("reviewer")
    work = annotation_task(session, admin, author, [make_assignment(session)])
    annotation = session.exec(select(Annotation).where(Annotation.task_id == work.id)).one()
    revisions.save_mask(session, actor=author, annotation_id=annotation.id, mask=blob())
    transitions.set_status(session, actor=author, task_id=work.id, status=TaskStatus.done)
    check = review_task(session, admin, reviewer, [annotation.id], start=False)
    _one_wins(_race(_set_status(check.id, [reviewer.id], TaskStatus.in_progress)))
    session.expire_all()
    made = session.exec(select(Review).where(Review.task_id == check.id)).all()
    assert [r.sequence for r in made] == [1]


def test_cancel_and_start_at_once_one_wins(session: Session, make_user) -> None:
    admin, author = make_user("admin"), make_user("annotator")
    task = annotation_task(session, admin, author, [make_assignment(session)], start=False)
    # both clients loaded the open task (a start that commits first could be cancelled legally)
    starts = _set_status(task.id, [author.id], TaskStatus.in_progress, task.row_version)
    cancels = _set_status(task.id, [admin.id], TaskStatus.cancelled, task.row_version)
    (won,) = _one_wins(_race(lambda s, i: (starts if i % 2 else cancels)(s, i)))
    session.expire_all()
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "task.status",
                                                   AuditEvent.entity_id == task.id)).all()
    assert [e.details["after"] for e in events] == [won.status]
