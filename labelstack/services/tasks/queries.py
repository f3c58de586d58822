"""Finding tasks: filters, text search, sorting and paging, scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, or_, select

from labelstack.db.enums import Priority, Role, TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.db.queries import escape_like
from labelstack.services.errors import InvalidInput
from labelstack.services.security import has_role
from labelstack.services.tasks.items import Progress, progress_of
from labelstack.services.tasks.records import active_task_types_for

_PRIORITY_RANK = sa.case({p.value: rank for rank, p in enumerate(Priority)},
                         value=col(Task.priority), else_=-1)
SORTABLE: dict[str, sa.SQLColumnExpression[Any]] = {
    "priority": _PRIORITY_RANK,
    "due_date": col(Task.due_date),
    "created_at": col(Task.created_at),
    "updated_at": col(Task.updated_at),
    "name": col(Task.name),
    "status": col(Task.status),
    "id": col(Task.id),
}


class TaskFilter(BaseModel):
    type: TaskType | None = None
    status: list[TaskStatus] = Field(default_factory=list)
    assignee_id: int | None = None
    priority: list[Priority] = Field(default_factory=list)
    due_before: date | None = None
    due_after: date | None = None
    q: str | None = Field(default=None, max_length=200, description="text in name or description")
    sort: str = Field(default="-created_at", description="field, '-' for descending; "
                      "comma-separated: " + ", ".join(SORTABLE))
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=500)


@dataclass(frozen=True, slots=True)
class TaskPage:
    items: list[Task]
    progress: dict[int, Progress]
    total: int
    page: int
    page_size: int


def list_tasks(session: Session, *, actor: User, query: TaskFilter) -> TaskPage:
    """Admins see every task; others their own plus the unassigned ones they could take."""
    where = _conditions(actor, query)
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    tasks = list(session.exec(
        select(Task).where(*where).order_by(*_order(query.sort))
        .offset((query.page - 1) * query.page_size).limit(query.page_size)).all())
    return TaskPage(items=tasks, progress=progress_of(session, tasks), total=total,
                    page=query.page, page_size=query.page_size)


def _conditions(actor: User, q: TaskFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if not has_role(actor, Role.admin):
        takeable = [t.value for t in active_task_types_for(actor)]
        where.append(or_(col(Task.assignee_id) == actor.id,
                         sa.and_(col(Task.status) == TaskStatus.unassigned,
                                 col(Task.type).in_(takeable))))
    if q.type is not None:
        where.append(col(Task.type) == q.type)
    if q.status:
        where.append(col(Task.status).in_([s.value for s in q.status]))
    if q.assignee_id is not None:
        where.append(col(Task.assignee_id) == q.assignee_id)
    if q.priority:
        where.append(col(Task.priority).in_([p.value for p in q.priority]))
    if q.due_before is not None:
        where.append(col(Task.due_date) <= q.due_before)
    if q.due_after is not None:
        where.append(col(Task.due_date) >= q.due_after)
    if q.q:
        needle = f"%{escape_like(q.q.lower())}%"
        where.append(or_(func.lower(Task.name).like(needle, escape="\\"),
                         func.lower(Task.description).like(needle, escape="\\")))
    return where


def _order(sort: str) -> list[sa.ColumnElement]:
    """`-priority,due_date` → priority descending, then due date; id last, for stable pages."""
    order = []
    for part in (p.strip() for p in sort.split(",") if p.strip()):
        name = part.lstrip("-+")
        if name not in SORTABLE:
            raise InvalidInput(f"cannot sort by {name!r}; use one of {', '.join(SORTABLE)}")
        column = SORTABLE[name]
        order.append(column.desc().nulls_last() if part.startswith("-")
                     else column.asc().nulls_last())
    return [*order, col(Task.id).asc()]
