"""Random sequences of task actions by random users against the real services (SQLite).

Hypothesis drives create / status (start, finish, cancel, reopen, unassign) /
assign / take / bulk edit / save a mask / decide a review in any order; after
every step the database must still satisfy every task rule, a refused action
must have changed nothing, each accepted one left one audit event, and every
active task can still be finished: on a copy of the database, its assignee's
legal actions alone (an admin first assigns an unassigned one) bring it to done.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlmodel import Session, SQLModel, col, func, select

from labelstack.db.enums import ReviewResult, TaskStatus, TaskType
from labelstack.db.models import Annotation, AuditEvent, Review, Task, TaskItem, User
from labelstack.db.session import make_engine
from labelstack.services.annotations import review_steps, reviews, revisions, versions
from labelstack.services.errors import ServiceError
from labelstack.services.tasks.rules import ACTIVE, FLOW, ROLE_FOR_TYPE
from labelstack.services.workflow import edits as task_edits
from labelstack.services.workflow import transitions
from labelstack.services.workflow.edits import BulkTaskUpdate, TaskChanges, TaskUpdate
from labelstack.services.workflow.transitions import TaskCreate
from tests.integration.workflow import task_helpers as h

S = TaskStatus
USERS = ["admin", "ann1", "ann2", "rev"]
ROLES = {"admin": "admin", "ann1": "annotator", "ann2": "annotator", "rev": "reviewer"}
SHAPE = (2, 4, 4)  # task_helpers.images
TASK_ACTIONS = ("task.create", "task.update", "task.status", "task.take")


class TaskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = TemporaryDirectory()
        self.engine = make_engine(f"sqlite:///{Path(self._dir.name) / 'fuzz.db'}")
        SQLModel.metadata.create_all(self.engine)
        with self._session() as s:
            self.users = {n: User(email=f"{n}@x.org", password_hash="-", roles=ROLES[n])
                          for n in USERS}
            s.add_all(self.users.values())
            s.commit()
            self.images = h.images(s, 3)
            self.label = h.label(s).id
            self.labels = [self.label, h.label(s).id, h.label(s).id]
            self.work = h.annotation(s, h.assignment(s, self.label, self.images[0]).id,
                                     self.users["ann1"].id).id
            for image in self.images[1:]:  # more saved work awaiting review
                h.annotation(s, h.assignment(s, h.label(s).id, image).id, self.users["ann1"].id)
        self.task_ids: list[int] = []
        self.accepted = 0

    def teardown(self) -> None:
        self.engine.dispose()
        self._dir.cleanup()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _do(self, action) -> None:  # noqa: ANN001
        """Run one service call in its own session, as a request would."""
        before = self._snapshot()
        try:
            with self._session() as s:
                action(s)
        except ServiceError:
            assert self._snapshot() == before, "a refused action changed something"
            return
        after = self._snapshot()
        for task_id, (status, _, version) in after.items():
            if task_id in before and before[task_id] != after[task_id]:
                old_status, _, old_version = before[task_id]
                assert status == old_status or status in FLOW[S(old_status)]
                assert version > old_version, "every change bumps the row version"
        self.accepted += 1

    def _some_annotation(self, pick: int) -> int:
        """The seeded work, or any annotation made since (drafts and decided ones too)."""
        with self._session() as s:
            ids = s.exec(select(Annotation.id).order_by(Annotation.id)).all()
        return ids[pick % len(ids)]

    def _snapshot(self) -> dict[int, tuple[str, int | None, int]]:
        with self._session() as s:
            return {t.id: (t.status, t.assignee_id, t.row_version)
                    for t in s.exec(select(Task)).all()}

    @rule(kind=st.sampled_from(list(TaskType)), assignee=st.sampled_from([None, *USERS]),
          image=st.integers(0, 2), actor=st.sampled_from(USERS))
    def create(self, kind: TaskType, assignee: str | None, image: int, actor: str) -> None:
        items = {TaskType.label: {"series_ids": [self.images[image % len(self.images)]]},
                 TaskType.annotation: {"series_ids": [self.images[image % len(self.images)]],
                                       "label_ids": [self.labels[image // 2 % 3]]},
                 TaskType.review: {"annotation_ids": [self._some_annotation(image)]}}[kind]
        data = TaskCreate(type=kind, name="t", **items,
                          assignee_id=self.users[assignee].id if assignee else None)

        def action(s: Session) -> None:
            self.task_ids.append(transitions.create_task(s, actor=self.users[actor], data=data).id)
        self._do(action)

    @rule(kind=st.sampled_from([TaskType.annotation, TaskType.review, TaskType.label]),
          image=st.integers(0, 5))
    def admin_creates(self, kind: TaskType, image: int) -> None:
        """A task an admin would make, assigned to someone who does that kind of work."""
        self.create(kind, "rev" if kind == TaskType.review else f"ann{image % 2 + 1}", image,
                    "admin")

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=st.sampled_from(USERS), new=st.sampled_from(list(S)))
    def status(self, data: st.DataObject, actor: str, new: S) -> None:
        task_id = data.draw(st.sampled_from(self.task_ids))
        self._do(lambda s: transitions.set_status(s, actor=self.users[actor], task_id=task_id,
                                            status=new))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=st.sampled_from(USERS),
          assignee=st.sampled_from([None, *USERS]))
    def assign(self, data: st.DataObject, actor: str, assignee: str | None) -> None:
        task_id = data.draw(st.sampled_from(self.task_ids))
        change = TaskUpdate(assignee_id=self.users[assignee].id if assignee else None)
        self._do(lambda s: task_edits.update_task(s, actor=self.users[actor], task_id=task_id,
                                                  data=change))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=st.sampled_from(USERS))
    def take(self, data: st.DataObject, actor: str) -> None:
        task_id = data.draw(st.sampled_from(self.task_ids))
        self._do(lambda s: transitions.take_task(s, actor=self.users[actor], task_id=task_id))

    @precondition(lambda self: len(self.task_ids) > 1)
    @rule(data=st.data(), assignee=st.sampled_from([None, "ann1", "rev"]))
    def bulk_assign(self, data: st.DataObject, assignee: str | None) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.task_ids), min_size=2, unique=True))
        change = BulkTaskUpdate(ids=ids, changes=TaskChanges(
            assignee_id=self.users[assignee].id if assignee else None))
        self._do(lambda s: task_edits.bulk_update_tasks(s, actor=self.users["admin"],
                                                        data=change))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=st.sampled_from(USERS), seed=st.integers(0, 2**16))
    def save(self, data: st.DataObject, actor: str, seed: int) -> None:
        with self._session() as s:
            ids = s.exec(select(Annotation.id).order_by(Annotation.id)).all()
        annotation_id = data.draw(st.sampled_from(ids))
        mask = np.random.default_rng(seed).random(SHAPE) > 0.5
        self._do(lambda s: revisions.save_mask(s, actor=self.users[actor],
                                               annotation_id=annotation_id, mask=mask))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=st.sampled_from(USERS),
          result=st.sampled_from(list(ReviewResult)))
    def decide(self, data: st.DataObject, actor: str, result: ReviewResult) -> None:
        with self._session() as s:
            ids = s.exec(select(Review.id).order_by(Review.id)).all()
        if not ids:
            return
        review_id = data.draw(st.sampled_from(ids))
        self._do(lambda s: reviews.decide_review(s, actor=self.users[actor], review_id=review_id,
                                                 result=result, comment="because"))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """The natural next move, by whoever makes it: the assignee starts and finishes, the
        admin reopens (random `status` calls rarely get that far)."""
        task_id = data.draw(st.sampled_from(self.task_ids))
        with self._session() as s:
            task = s.get(Task, task_id)
            move = {S.open: S.in_progress, S.in_progress: S.done, S.done: S.open,
                    S.cancelled: S.open}.get(S(task.status))
            assignee = task.assignee_id
        if move is None:
            return
        actor = self.users["admin"] if move == S.open \
            else next(u for u in self.users.values() if u.id == assignee)
        self._do(lambda s: transitions.set_status(s, actor=actor, task_id=task_id, status=move))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), other=st.booleans())
    def cancel_and_reassign(self, data: st.DataObject, other: bool) -> None:
        """The admin cancels a task and (maybe) hands it over: to someone else of the same
        role, reopened."""
        task_id = data.draw(st.sampled_from(self.task_ids))
        admin = self.users["admin"]
        self._do(lambda s: transitions.set_status(s, actor=admin, task_id=task_id,
                                            status=S.cancelled))
        with self._session() as s:
            task = s.get(Task, task_id)
            if not other or task.type == TaskType.review or task.status != S.cancelled:
                return
            now = "ann2" if task.assignee_id == self.users["ann1"].id else "ann1"
        change = TaskUpdate(assignee_id=self.users[now].id)
        self._do(lambda s: task_edits.update_task(s, actor=admin, task_id=task_id, data=change))
        self._do(lambda s: transitions.set_status(s, actor=admin, task_id=task_id, status=S.open))

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), result=st.sampled_from(list(ReviewResult)))
    def work(self, data: st.DataObject, result: ReviewResult) -> None:
        """The assignee of an in-progress task saves their drafts and decides their reviews."""
        task_id = data.draw(st.sampled_from(self.task_ids))
        with self._session() as s:
            task = s.get(Task, task_id)
            if task.status != S.in_progress:
                return
            actor = s.get(User, task.assignee_id)
            drafts = [a.id for a in versions.unsaved_annotations(s, task=task)
                      if a.author_id == actor.id]
            undecided = [r.id for r in review_steps.undecided_reviews(s, task=task)]
        for annotation_id in drafts:
            self._do(lambda s, i=annotation_id: revisions.save_mask(
                s, actor=actor, annotation_id=i, mask=np.ones(SHAPE, dtype=bool)))
        for review_id in undecided:
            self._do(lambda s, i=review_id: reviews.decide_review(
                s, actor=actor, review_id=i, result=result, comment="because"))

    @invariant()
    def every_active_task_can_be_finished(self) -> None:
        with self._session() as s:
            active = s.exec(select(Task.id).where(col(Task.status).in_(ACTIVE))).all()
        if not active:
            return
        copy = Path(self._dir.name) / "copy.db"
        copy.unlink(missing_ok=True)
        source = self.engine.raw_connection()
        try:
            with sqlite3.connect(copy) as target:
                source.driver_connection.backup(target)
        finally:
            source.close()
        engine = make_engine(f"sqlite:///{copy}")
        try:
            for task_id in active:
                _finish_by_assignee(engine, task_id, admin=self.users["admin"].id)
        finally:
            engine.dispose()

    @invariant()
    def rules_hold(self) -> None:
        with self._session() as s:
            for task in s.exec(select(Task)).all():
                if task.status in (S.open, S.in_progress, S.done):
                    assert task.assignee_id is not None, f"{task.status} without assignee"
                if task.status == S.unassigned:
                    assert task.assignee_id is None
                if task.assignee_id is not None:
                    roles = s.get(User, task.assignee_id).role_set
                    assert str(ROLE_FOR_TYPE[TaskType(task.type)]) in roles
                if task.type == TaskType.review:
                    assert task.assignee_id != self.users["ann1"].id  # the author of the work
            for column in (TaskItem.series_id, TaskItem.label_assignment_id,
                           TaskItem.annotation_id):
                clash = s.exec(select(Task.type, column, func.count())
                               .join(Task, col(Task.id) == TaskItem.task_id)
                               .where(col(Task.status).in_(ACTIVE), col(column).is_not(None))
                               .group_by(Task.type, column).having(func.count() > 1)).all()
                assert not clash, f"an item sits in two active tasks: {clash}"

    @invariant()
    def in_review_only_inside_a_running_review(self) -> None:
        """An annotation is in review only while an in-progress review task has an undecided
        review of it (a cancelled task lets go of it)."""
        with self._session() as s:
            running = (select(Review.annotation_id).join(Task, col(Task.id) == Review.task_id)
                       .where(Task.status == S.in_progress, col(Review.result).is_(None)))
            stuck = s.exec(select(Annotation.id).where(Annotation.status == "in_review",
                                                       col(Annotation.id).not_in(running))).all()
            assert not stuck, f"annotations stuck in review: {stuck}"

    @invariant()
    def one_event_per_accepted_change(self) -> None:
        with self._session() as s:
            events = s.exec(select(func.count()).select_from(AuditEvent)
                            .where(col(AuditEvent.action).in_(TASK_ACTIONS))).one()
            changed = sum(t.row_version - 1 for t in s.exec(select(Task)).all())
            assert events == changed + len(self.task_ids)


def _finish_by_assignee(engine, task_id: int, *, admin: int) -> None:  # noqa: ANN001
    """Drive one task to done with legal actions only, each in its own session."""
    def session() -> Session:
        return Session(engine, expire_on_commit=False)

    with session() as s:
        task = s.get(Task, task_id)
        if task.status == S.unassigned:
            someone = "rev" if task.type == TaskType.review else "ann2"
            user = s.exec(select(User).where(User.email == f"{someone}@x.org")).one()
            task_edits.update_task(s, actor=s.get(User, admin), task_id=task_id,
                                   data=TaskUpdate(assignee_id=user.id))
        assignee_id = s.get(Task, task_id).assignee_id
    with session() as s:
        assignee = s.get(User, assignee_id)
        if s.get(Task, task_id).status == S.open:
            transitions.set_status(s, actor=assignee, task_id=task_id, status=S.in_progress)
    with session() as s:
        task = s.get(Task, task_id)
        if task.type == TaskType.annotation:
            for left in versions.unsaved_annotations(s, task=task):
                assert left.author_id == assignee.id, (
                    f"task {task_id}: annotation {left.id} of someone else blocks finishing")
                revisions.save_mask(s, actor=assignee, annotation_id=left.id,
                                    mask=np.ones(SHAPE, dtype=bool))
        if task.type == TaskType.review:
            for review in review_steps.undecided_reviews(s, task=task):
                reviews.decide_review(s, actor=assignee, review_id=review.id, result="accepted")
    with session() as s:
        transitions.set_status(s, actor=assignee, task_id=task_id, status=S.done)


TaskMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_task_machine = TaskMachine.TestCase
