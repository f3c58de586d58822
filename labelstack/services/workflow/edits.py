"""Admins edit tasks, one or many at once (all or nothing)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Priority, Role
from labelstack.db.models import Task, User
from labelstack.services.errors import InvalidInput, NotFound
from labelstack.services.security import require_role
from labelstack.services.tasks import rules
from labelstack.services.tasks.records import check_assignee, expect_version, get_task, save_task
from labelstack.services.workflow.lifecycle import LIFECYCLES


class TaskChanges(BaseModel):
    """Fields an admin edits; only the fields sent are changed (null clears due date/assignee)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    priority: Priority | None = None
    due_date: date | None = None
    assignee_id: int | None = None


class TaskUpdate(TaskChanges):
    row_version: int | None = Field(default=None, description="refuse if the task changed since")


class BulkTaskUpdate(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)
    changes: TaskChanges


def update_task(session: Session, *, actor: User, task_id: int, data: TaskUpdate) -> Task:
    require_role(actor, Role.admin)
    task = get_task(session, task_id)
    expected = expect_version(task, data.row_version)
    changes = _apply(session, task, data)
    if changes:  # re-sending the current values is not a change and leaves no event
        save_task(session, task, expected, actor=actor, action=AuditAction.task_update, details=changes)
    return task


def bulk_update_tasks(session: Session, *, actor: User, data: BulkTaskUpdate) -> list[Task]:
    """Apply the same changes to many tasks: all of them or, on any refusal, none."""
    require_role(actor, Role.admin)
    ids = sorted(set(data.ids))  # one lock order, so two bulk edits cannot deadlock
    found = {t.id: t for t in session.exec(select(Task).where(col(Task.id).in_(ids))).all()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"tasks not found: {missing}", missing=missing)
    try:
        for task_id in ids:
            task = found[task_id]
            expected = task.row_version
            changes = _apply(session, task, data.changes)
            if changes:
                save_task(session, task, expected, actor=actor, action=AuditAction.task_update,
                      details=changes, commit=False)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return [found[i] for i in ids]


def _apply(session: Session, task: Task, data: TaskChanges) -> dict[str, Any]:
    """Apply the sent fields to `task`; returns before/after of what changed."""
    sent = data.model_fields_set - {"row_version"}
    if not sent:
        raise InvalidInput("nothing to change")
    if None in (getattr(data, f) for f in sent & {"name", "description", "priority"}):
        raise InvalidInput("name, description and priority cannot be null")
    changes: dict[str, Any] = {}
    if "assignee_id" in sent and data.assignee_id != task.assignee_id:
        check_assignee(session, task.type, data.assignee_id)
        LIFECYCLES[task.type].check_assignee(session, task=task, assignee_id=data.assignee_id)
        status = rules.status_after_assignment(task.status, before=task.assignee_id,
                                               after=data.assignee_id)
        if status != task.status:
            changes["status"] = {"before": task.status, "after": status}
            task.status = status
    for field in sorted(sent):
        old, new = getattr(task, field), getattr(data, field)
        if old != new:
            changes[field] = {"before": str(old) if old is not None else None,
                              "after": str(new) if new is not None else None}
            setattr(task, field, new)
    return changes
