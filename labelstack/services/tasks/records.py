"""Task rows and who may act on them: reading, the assignee and reader rules, the next
states a user may choose, who may be assigned, and the guarded save every change uses.

Every change goes through `save_task` (or `claim` + `record`), which bumps `row_version`
with a guarded UPDATE: of two concurrent changes to one task exactly one wins and the
other gets a 409, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Role, TaskStatus, TaskType
from labelstack.db.models import Task, TaskItem, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    get_or_not_found,
)
from labelstack.services.security import has_role
from labelstack.services.tasks import rules

S = TaskStatus


class TaskState(Protocol):
    """What the who-may-act rules read of a task: the entity, or a row a list read."""

    @property
    def status(self) -> TaskStatus: ...

    @property
    def assignee_id(self) -> int | None: ...


def get_task(session: Session, task_id: int) -> Task:
    return get_or_not_found(session, Task, task_id, "task")


def require_task_actor(session: Session, *, task: Task, actor: User) -> None:
    """Only the assignee or an admin may work on (or look into) a task's content; someone
    who may not even read it hears "not found" (see `require_task_reader`).

    Shared with the annotation and review services (`session` is part of that signature).
    """
    require_task_reader(session, task=task, actor=actor)
    if not has_role(actor, Role.admin) and task.assignee_id != actor.id:
        raise Forbidden("this is not your task")


def works_on(task: Task, actor: User) -> bool:
    """Whether `actor` is doing this task now: its assignee, with the task in progress.
    Work on a task's items (saving a mask, deciding a review) is accepted only then."""
    return task.status == S.in_progress and task.assignee_id == actor.id


def require_task_reader(session: Session, *, task: Task, actor: User) -> None:
    """Admins, the assignee, and whoever could take the unassigned task (to choose one) may
    read it. Anyone else gets the very 404 of a task that does not exist, so task ids
    cannot be probed (as `images.access` does for series)."""
    if not may_read(task, actor):
        raise NotFound(f"task {task.id} not found")


def may_read(task: Task, actor: User) -> bool:
    return (has_role(actor, Role.admin) or task.assignee_id == actor.id
            or (task.status == S.unassigned and task.type in active_task_types_for(actor)))


def active_task_types_for(user: User) -> set[TaskType]:
    """The task types a user's roles do (admins manage all of them)."""
    if has_role(user, Role.admin):
        return set(TaskType)
    return {t for t in TaskType if rules.may_do_type(user.role_set, t)}


def who(task: TaskState, actor: User) -> rules.Who:
    return rules.Who(is_admin=has_role(actor, Role.admin),
                     is_assignee=task.assignee_id is not None and task.assignee_id == actor.id)


def allowed_next(task: TaskState, actor: User) -> list[TaskStatus]:
    """The states `actor` may move `task` to now, in flow order: what every page offers and
    every refusal lists."""
    return rules.allowed_next(task.status, who=who(task, actor),
                              has_assignee=task.assignee_id is not None)


def assignable_users(session: Session, task_type: TaskType) -> list[User]:
    """Active users whose roles do `task_type`, by name: the choices of every assignee picker."""
    people = session.exec(select(User).where(col(User.is_active)).order_by(col(User.name),
                                                                          col(User.email))).all()
    return [u for u in people if rules.may_do_type(u.role_set, task_type)]


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


def expect_version(task: Task, row_version: int | None) -> int:
    if row_version is not None and row_version != task.row_version:
        raise Conflict("the task was changed by someone else; reload it and try again",
                       row_version=task.row_version)
    return task.row_version


def save_task(session: Session, task: Task, expected: int, *, actor: User, action: AuditAction,
              details: dict[str, Any], commit: bool = True) -> None:
    """Bump the version only if nobody else did since we read it, audit, commit."""
    claim(session, task, expected)
    record(session, task, actor=actor, action=action, details=details)
    if commit:
        session.commit()


def claim(session: Session, task: Task, expected: int) -> None:
    """The guarded UPDATE: bump `row_version` from `expected`, or roll back and raise 409.

    It also takes the row's write lock until commit, so whatever the caller writes next
    cannot interleave with another change to the same task.
    """
    bumped = session.exec(sa.update(Task).where(col(Task.id) == task.id,
                                                col(Task.row_version) == expected)
                          .values(row_version=expected + 1)
                          .execution_options(synchronize_session=False))
    if bumped.rowcount != 1:
        session.rollback()
        raise concurrent_change()
    task.row_version = expected + 1


def record(session: Session, task: Task, *, actor: User, action: AuditAction,
           details: dict[str, Any]) -> None:
    task.updated_at = utcnow()
    session.add(task)
    audit.record(session, actor=actor, action=action, entity_type="task", entity_id=task.id,
                 details=details)


def concurrent_change() -> Conflict:
    return Conflict("the task was changed by someone else at the same time; reload it "
                    "and try again")
