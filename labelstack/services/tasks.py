"""Tasks: admins create, edit and cancel them; assignees take, start and finish them.

Every change goes through `save_task`, which bumps `row_version` with a guarded
UPDATE: of two concurrent changes to one task exactly one wins and the other
gets a 409, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session, col, select

from labelstack.db.enums import Priority, Role, TaskStatus, TaskType
from labelstack.db.models import Task, TaskItem, User
from labelstack.db.types import utcnow
from labelstack.services import audit, task_items
from labelstack.services import task_rules as rules
from labelstack.services.errors import Conflict, Forbidden, InvalidInput, get_or_not_found
from labelstack.services.races import lost_race_is_conflict
from labelstack.services.security import has_role, require_role
from labelstack.services.task_items import TaskContent

S = TaskStatus


class TaskCreate(TaskContent):
    type: TaskType
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    priority: Priority = Priority.normal
    due_date: date | None = None
    assignee_id: int | None = None


def create_task(session: Session, *, actor: User, data: TaskCreate) -> Task:
    require_role(actor, Role.admin)
    check_assignee(session, TaskType(data.type), data.assignee_id)
    ids, created = task_items.resolve_items(session, task_type=data.type, content=data,
                                            actor=actor)
    task_items.check_exclusive(session, task_type=data.type, ids=ids)
    if data.type == TaskType.review:
        task_items.check_not_author(session, annotation_ids=ids, reviewer_id=data.assignee_id)
        from labelstack.services.reviews import check_reviewable
        check_reviewable(session, annotation_ids=ids)
    task = Task(type=data.type, name=data.name, description=data.description,
                priority=data.priority, due_date=data.due_date, assignee_id=data.assignee_id,
                status=S.open if data.assignee_id else S.unassigned, creator_id=actor.id)
    session.add(task)
    session.flush()
    for assignment in created:
        assignment.task_id = task.id
    task_items.record_assignments(session, actor=actor, task=task, ids=ids, created=created)
    task_items.add_items(session, task, ids)
    audit.record(session, actor=actor, action="task.create", entity_type="task",
                 entity_id=task.id, details={"type": task.type, "status": task.status,
                                             "assignee_id": task.assignee_id, "items": len(ids)})
    session.commit()
    return task


def set_status(session: Session, *, actor: User, task_id: int, status: TaskStatus,
               row_version: int | None = None) -> Task:
    """Move a task along the flow; see `task_rules` for who may make which change.

    The guarded version bump comes first: it takes the task's row lock, so of two
    clients starting (or finishing, cancelling) one task at once exactly one goes on to
    create the task's annotations or reviews and the others get a 409, never a
    unique-constraint error from inserting the same work twice.
    """
    task = get_task(session, task_id)
    require_task_actor(session, task=task, actor=actor)
    expected = expect_version(task, row_version)
    before = S(task.status)
    rules.check_transition(before, status, who=_who(task, actor),
                           has_assignee=task.assignee_id is not None)
    details: dict[str, Any] = {"before": before, "after": status}
    try:
        with lost_race_is_conflict(session, _concurrent()):
            claim(session, task, expected)
            if status == S.in_progress:
                _start(session, task, actor)
            elif status == S.done:
                _finish(session, task, actor)
            elif status == S.open:  # a reopen: its items must not have moved to another active task
                task_items.check_exclusive(session, task_type=TaskType(task.type),
                                           ids=task_items.item_ids(session, task), task_id=task.id)
                if task.type == TaskType.review:
                    from labelstack.services.reviews import check_reopen
                    check_reopen(session, task=task)
                task.completed_at = None
            elif status == S.cancelled and task.type == TaskType.review:
                from labelstack.services.reviews import release_undecided, submit_corrections
                release_undecided(session, task=task, actor=actor)
                submit_corrections(session, task=task, actor=actor)
            elif status == S.unassigned:
                details["assignee_id"] = {"before": task.assignee_id, "after": None}
                task.assignee_id = None
            task.status = status
            _record(session, task, actor=actor, action="task.status", details=details)
            session.commit()
    except Exception:
        session.rollback()
        raise
    return task


def take_task(session: Session, *, actor: User, task_id: int) -> Task:
    """An annotator or reviewer takes an unassigned task of their kind for themselves."""
    task = get_task(session, task_id)
    expected = task.row_version
    rules.check_take(S(task.status), task_type=TaskType(task.type), roles=actor.role_set,
                     assignee=task.assignee_id, actor=actor.id or 0)
    if task.type == TaskType.review:
        task_items.check_not_author(session, annotation_ids=task_items.item_ids(session, task),
                                    reviewer_id=actor.id)
    task.assignee_id, task.status = actor.id, S.open
    save_task(session, task, expected, actor=actor, action="task.take",
          details={"before": S.unassigned, "after": S.open, "assignee_id": actor.id})
    return task


def get_task(session: Session, task_id: int) -> Task:
    return get_or_not_found(session, Task, task_id, "task")


def require_task_actor(session: Session, *, task: Task, actor: User) -> None:
    """Only the assignee or an admin may work on (or look into) a task's content.

    Shared with the annotation and review services (`session` is part of that signature).
    """
    if not has_role(actor, Role.admin) and task.assignee_id != actor.id:
        raise Forbidden("this is not your task")


def works_on(task: Task, actor: User) -> bool:
    """Whether `actor` is doing this task now: its assignee, with the task in progress.
    Work on a task's items (saving a mask, deciding a review) is accepted only then."""
    return task.status == S.in_progress and task.assignee_id == actor.id


def require_task_reader(session: Session, *, task: Task, actor: User) -> None:
    """Like `require_task_actor`, plus unassigned tasks the actor could take (to choose one)."""
    if task.status == S.unassigned and TaskType(task.type) in active_task_types_for(actor):
        return
    require_task_actor(session, task=task, actor=actor)


def active_task_types_for(user: User) -> set[TaskType]:
    """The task types a user's roles do (admins manage all of them)."""
    if has_role(user, Role.admin):
        return set(TaskType)
    return {t for t in TaskType if rules.may_do_type(user.role_set, t)}


def read_task(session: Session, *, actor: User, task_id: int) -> Task:
    task = get_task(session, task_id)
    require_task_reader(session, task=task, actor=actor)
    return task


def list_items(session: Session, *, actor: User, task_id: int) -> list[TaskItem]:
    task = get_task(session, task_id)
    require_task_reader(session, task=task, actor=actor)
    return list(session.exec(select(TaskItem).where(TaskItem.task_id == task.id)
                             .order_by(col(TaskItem.position))).all())


def check_assignee(session: Session, task_type: TaskType, user_id: int | None) -> None:
    if user_id is None:
        return
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInput(f"assignee {user_id} is not an active user")
    if not rules.may_do_type(user.role_set, task_type):
        raise InvalidInput(f"a {task_type} task needs an assignee with the "
                           f"{rules.ROLE_FOR_TYPE[task_type]} role")


def _who(task: Task, actor: User) -> rules.Who:
    return rules.Who(is_admin=has_role(actor, Role.admin),
                     is_assignee=task.assignee_id is not None and task.assignee_id == actor.id)


def _start(session: Session, task: Task, actor: User) -> None:
    # Imported here: those services import this module for get_task / require_task_actor.
    if task.type == TaskType.annotation:
        from labelstack.services.annotations import create_annotations_for_task
        create_annotations_for_task(session, task=task, actor=actor)
    elif task.type == TaskType.review:
        from labelstack.services.reviews import create_reviews_for_task
        create_reviews_for_task(session, task=task, actor=actor)
    task.started_at = task.started_at or utcnow()


def _finish(session: Session, task: Task, actor: User) -> None:
    if task.type == TaskType.annotation:
        from labelstack.services.annotations import summaries, unsaved_annotations
        unsaved = [a.id for a in unsaved_annotations(session, task=task) if a.id is not None]
        if unsaved:
            names = "; ".join(s.title for s in summaries(session, unsaved))
            raise Conflict("every annotation must be saved at least once before finishing; "
                           f"not saved yet: {names}", annotation_ids=unsaved)
    elif task.type == TaskType.review:
        from labelstack.services.reviews import undecided_reviews
        undecided = undecided_reviews(session, task=task)
        if undecided:
            raise Conflict("every review needs a result before finishing",
                           review_ids=[r.id for r in undecided])
        from labelstack.services.reviews import submit_corrections
        submit_corrections(session, task=task, actor=actor)
    task_items.mark_all_done(session, task)
    task.completed_at = utcnow()


def expect_version(task: Task, row_version: int | None) -> int:
    if row_version is not None and row_version != task.row_version:
        raise Conflict("the task was changed by someone else; reload it and try again",
                       row_version=task.row_version)
    return task.row_version


def save_task(session: Session, task: Task, expected: int, *, actor: User, action: str,
          details: dict[str, Any], commit: bool = True) -> None:
    """Bump the version only if nobody else did since we read it, audit, commit."""
    claim(session, task, expected)
    _record(session, task, actor=actor, action=action, details=details)
    if commit:
        session.commit()


def claim(session: Session, task: Task, expected: int) -> None:
    """The guarded UPDATE: bump `row_version` from `expected`, or roll back and raise 409.

    It also takes the row's write lock until commit, so whatever the caller writes next
    cannot interleave with another change to the same task.
    """
    bumped = session.execute(sa.update(Task).where(col(Task.id) == task.id,
                                                   col(Task.row_version) == expected)
                             .values(row_version=expected + 1)
                             .execution_options(synchronize_session=False))
    if bumped.rowcount != 1:
        session.rollback()
        raise _concurrent()
    task.row_version = expected + 1


def _record(session: Session, task: Task, *, actor: User, action: str,
            details: dict[str, Any]) -> None:
    task.updated_at = utcnow()
    session.add(task)
    audit.record(session, actor=actor, action=action, entity_type="task", entity_id=task.id,
                 details=details)


def _concurrent() -> Conflict:
    return Conflict("the task was changed by someone else at the same time; reload it "
                    "and try again")
