"""Admins edit tasks, one or many at once (all or nothing), and the items of a task that has
not started yet."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, func, select

from labelstack.db.enums import AuditAction, Priority, Role, TaskStatus
from labelstack.db.models import Task, TaskItem, User
from labelstack.services.errors import Conflict, InvalidInput, NotFound
from labelstack.services.races import flush_or_conflict
from labelstack.services.security import require_role
from labelstack.services.tasks import items, rules
from labelstack.services.tasks.items import KIND_COLUMN, TaskContent
from labelstack.services.tasks.records import check_assignee, expect_version, get_task, save_task
from labelstack.services.workflow.lifecycle import LIFECYCLES

ITEMS_EDITABLE = frozenset({TaskStatus.unassigned, TaskStatus.open})
"""Items change only before the work starts: starting a task makes its annotations and
reviews from them."""


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


class ItemChanges(BaseModel):
    """Items to add (as when creating a task of this type) and to remove (by the id the item
    holds: a series, a label assignment or an annotation)."""

    model_config = ConfigDict(extra="forbid")
    add: TaskContent = Field(default_factory=TaskContent)
    remove: list[int] = Field(default_factory=list, max_length=10_000)
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


def edit_items(session: Session, *, actor: User, task_id: int, data: ItemChanges) -> Task:
    """Add and remove items of a task that has not started; the rules of a new task's items
    apply to what is added (kind, archived labels, one active task per item, reviewer not the
    author), and a task keeps at least one item."""
    require_role(actor, Role.admin)
    task = get_task(session, task_id)
    assert task.id is not None  # loaded from the database
    expected = expect_version(task, data.row_version)
    if task.status not in ITEMS_EDITABLE:
        raise Conflict(f"items change only before the task starts; this one is "
                       f"{task.status.replace('_', ' ')}")
    current = items.item_ids(session, task)
    strangers = sorted(set(data.remove) - set(current))
    if strangers:
        raise InvalidInput(f"not items of task {task.id}: {strangers}", missing=strangers)
    added: list[int] = []
    if any(data.add.model_dump().values()):
        ids, created = items.resolve_items(session, task_type=task.type, content=data.add,
                                           actor=actor)
        added = [i for i in ids if i not in current]
        items.check_exclusive(session, task_type=task.type, ids=added, task_id=task.id)
        LIFECYCLES[task.type].check_create(session, ids=added, assignee_id=task.assignee_id)
        for assignment in created:
            assignment.task_id = task.id
        items.record_assignments(session, actor=actor, task=task, ids=added, created=created)
    removed = sorted(set(data.remove))
    if not [i for i in current if i not in removed] + added:
        raise InvalidInput("a task needs at least one item: add another before removing the last")
    if not added and not removed:
        raise InvalidInput("nothing to change")
    column = getattr(TaskItem, KIND_COLUMN[task.type])
    session.execute(sa.delete(TaskItem).where(col(TaskItem.task_id) == task.id,
                                              column.in_(removed)))
    last = session.exec(select(func.max(TaskItem.position))
                        .where(TaskItem.task_id == task.id)).one()
    start = (last if last is not None else -1) + 1
    for position, item_id in enumerate(added, start=start):
        item = TaskItem(task_id=task.id, position=position, active=task.status in rules.ACTIVE)
        setattr(item, KIND_COLUMN[task.type], item_id)
        session.add(item)
    flush_or_conflict(session, f"already in another active {task.type} task")
    save_task(session, task, expected, actor=actor, action=AuditAction.task_update,
              details={"items": {"added": added, "removed": removed}})
    return task
