"""Tasks are created and moved along their flow here: the common part of every step
(permission, guarded version bump, audit, commit) and then the hook of the task's type
from `lifecycle.LIFECYCLES`. Who may make which change is `tasks.rules`."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field
from sqlmodel import Session

from labelstack.db.enums import AuditAction, Priority, Role, TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.db.types import utcnow
from labelstack.services import audit
from labelstack.services.races import lost_race_is_conflict
from labelstack.services.security import require_role
from labelstack.services.tasks import items, records, rules
from labelstack.services.tasks.items import TaskContent
from labelstack.services.workflow.lifecycle import LIFECYCLES

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
    records.check_assignee(session, data.type, data.assignee_id)
    ids, created = items.resolve_items(session, task_type=data.type, content=data, actor=actor)
    items.check_exclusive(session, task_type=data.type, ids=ids)
    LIFECYCLES[data.type].check_create(session, ids=ids, assignee_id=data.assignee_id)
    task = Task(type=data.type, name=data.name, description=data.description,
                priority=data.priority, due_date=data.due_date, assignee_id=data.assignee_id,
                status=S.open if data.assignee_id else S.unassigned, creator_id=actor.id)
    session.add(task)
    session.flush()
    for assignment in created:
        assignment.task_id = task.id
    items.record_assignments(session, actor=actor, task=task, ids=ids, created=created)
    items.add_items(session, task, ids)
    audit.record(session, actor=actor, action=AuditAction.task_create, entity_type="task",
                 entity_id=task.id, details={"type": task.type, "status": task.status,
                                             "assignee_id": task.assignee_id, "items": len(ids)})
    session.commit()
    return task


def set_status(session: Session, *, actor: User, task_id: int, status: TaskStatus,
               row_version: int | None = None) -> Task:
    """Move a task along the flow; see `tasks.rules` for who may make which change.

    The guarded version bump comes first: it takes the task's row lock, so of two
    clients starting (or finishing, cancelling) one task at once exactly one goes on to
    create the task's annotations or reviews and the others get a 409, never a
    unique-constraint error from inserting the same work twice.
    """
    task = records.get_task(session, task_id)
    records.require_task_actor(session, task=task, actor=actor)
    expected = records.expect_version(task, row_version)
    before = task.status
    rules.check_transition(before, status, who=records.who(task, actor),
                           has_assignee=task.assignee_id is not None)
    details: dict[str, Any] = {"before": before, "after": status}
    steps = LIFECYCLES[task.type]
    try:
        with lost_race_is_conflict(session, records.concurrent_change()):
            records.claim(session, task, expected)
            if status == S.in_progress:
                steps.start(session, task=task, actor=actor)
                task.started_at = task.started_at or utcnow()
            elif status == S.done:
                steps.finish(session, task=task, actor=actor)
                items.mark_all_done(session, task)
                task.completed_at = utcnow()
            elif status == S.open:  # a reopen: its items must not have moved to another active task
                items.check_exclusive(session, task_type=task.type,
                                      ids=items.item_ids(session, task), task_id=task.id)
                steps.reopen(session, task=task)
                task.completed_at = None
            elif status == S.cancelled:
                steps.cancel(session, task=task, actor=actor)
            elif status == S.unassigned:
                details["assignee_id"] = {"before": task.assignee_id, "after": None}
                task.assignee_id = None
            task.status = status
            items.mark_active(session, task)
            records.record(session, task, actor=actor, action=AuditAction.task_status,
                           details=details)
            session.commit()
    except Exception:
        session.rollback()
        raise
    return task


def take_task(session: Session, *, actor: User, task_id: int) -> Task:
    """An annotator or reviewer takes an unassigned task of their kind for themselves.

    Whoever may not see the task (someone else's, or not of their kind) hears "not found",
    as for a task that does not exist: the refusal must not tell its status."""
    task = records.get_task(session, task_id)
    records.require_task_reader(session, task=task, actor=actor)
    expected = task.row_version
    rules.check_take(task.status, task_type=task.type, roles=actor.role_set,
                     assignee=task.assignee_id, actor=actor.id or 0)
    LIFECYCLES[task.type].check_assignee(session, task=task, assignee_id=actor.id)
    task.assignee_id, task.status = actor.id, S.open
    records.save_task(session, task, expected, actor=actor, action=AuditAction.task_take,
                      details={"before": S.unassigned, "after": S.open, "assignee_id": actor.id})
    return task
