"""Finding tasks: filters, text search, sorting and paging, scoped to what the actor may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, or_

from labelstack.db import text_search
from labelstack.db.enums import Priority, Role, TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.services.errors import InvalidInput
from labelstack.services.security import has_role
from labelstack.services.tasks.items import Progress, progress, progress_columns
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
NULLABLE = {"due_date"}


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
class TaskRow:
    """A listed task: its columns as read, no ORM entity (a page reads plain rows, which is
    several times cheaper than loading entities); pages and the API only read them."""

    id: int
    type: TaskType
    name: str
    description: str
    priority: Priority
    due_date: date | None
    status: TaskStatus
    assignee_id: int | None
    creator_id: int | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    time_spent: float
    row_version: int


@dataclass(frozen=True, slots=True)
class TaskPage:
    items: list[TaskRow]
    progress: dict[int, Progress]
    total: int
    page: int
    page_size: int


_LISTED = aliased(Task, name="listed")
_COLUMNS = [getattr(_LISTED, name) for name in TaskRow.__dataclass_fields__]
_PROGRESS = progress_columns(col(_LISTED.id))
"""The columns and progress subqueries, built once: they name the listed task, so only the
page (which rows, in which order) differs between requests."""
_SEARCHED = ("name", "description")


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which filters a request uses (not their values) and its sort: requests of one shape
    share one statement, their values bound as parameters. Building the statement and its
    cache key cost about as much as running it."""

    scoped: bool
    type: bool
    status: bool
    assignee: bool
    priority: bool
    due_before: bool
    due_after: bool
    search: text_search.Kind
    sort: str

    @classmethod
    def of(cls, actor: User, q: TaskFilter) -> _Shape:
        return cls(scoped=not has_role(actor, Role.admin), type=q.type is not None,
                   status=bool(q.status), assignee=q.assignee_id is not None,
                   priority=bool(q.priority), due_before=q.due_before is not None,
                   due_after=q.due_after is not None,
                   search=text_search.kind((q.q or "").strip()), sort=q.sort)


def list_tasks(session: Session, *, actor: User, query: TaskFilter) -> TaskPage:
    """Admins see every task; others their own plus the unassigned ones they could take."""
    dialect = session.get_bind().dialect.name
    page_statement, count = _statements(dialect, _Shape.of(actor, query))
    values = {
        "actor_id": actor.id, "takeable": [t.value for t in active_task_types_for(actor)],
        "type": query.type, "status": [s.value for s in query.status],
        "assignee_id": query.assignee_id, "priority": [p.value for p in query.priority],
        "due_before": query.due_before, "due_after": query.due_after,
        "offset": (query.page - 1) * query.page_size, "limit": query.page_size,
        "q": text_search.value(dialect, _SEARCHED, (query.q or "").strip()),
    }
    rows: Sequence[Any] = session.connection().execute(page_statement, values).all()
    width = len(_COLUMNS)
    items = [TaskRow(*row[:width]) for row in rows]
    total: int = (rows[0][width] if rows
                  else session.connection().execute(count, values).scalar_one())
    return TaskPage(items=items,
                    progress={t.id: progress(row[width + 1], row[width + 2], row[width + 3],
                                              t.time_spent)
                              for t, row in zip(items, rows, strict=True)},
                    total=total, page=query.page, page_size=query.page_size)


@lru_cache(maxsize=256)
def _statements(dialect: str, shape: _Shape) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page with its total and progress, in one statement; and the total alone (for a
    page past the end).

    The page's ids are chosen first, then only those rows are read with their progress. The
    total is an uncorrelated subquery (run once; the page can still come off a sort
    column's index); a text search counts in a window instead, so its matching runs once.
    """
    where = _conditions(shape)
    searching = shape.search != "none"
    if searching:
        where.append(text_search.condition(dialect, text_search.TASKS, Task, _SEARCHED, key="q",
                                           short=shape.search == "short"))
    count = sa.select(func.count()).select_from(Task).where(*where).correlate(None)
    order = _order(shape.sort)
    total = func.count().over() if searching else count.scalar_subquery()
    page = (sa.select(col(Task.id), total.label("total"),
                      func.row_number().over(order_by=order).label("n"))
            .where(*where).order_by(*order)
            .offset(sa.bindparam("offset", type_=sa.Integer))
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .subquery("page"))
    return (sa.select(*_COLUMNS, page.c.total, *_PROGRESS)
            .join(page, page.c.id == _LISTED.id).order_by(page.c.n)), count


def _conditions(shape: _Shape) -> list[sa.ColumnElement[bool]]:
    """The filters of `shape`, their values left as parameters named as in `list_tasks`."""
    def many(name: str) -> sa.BindParameter[Any]:
        return sa.bindparam(name, expanding=True)

    where: list[sa.ColumnElement[bool]] = []
    if shape.scoped:
        where.append(or_(col(Task.assignee_id) == sa.bindparam("actor_id"),
                         sa.and_(col(Task.status) == TaskStatus.unassigned,
                                 col(Task.type).in_(many("takeable")))))
    if shape.type:
        where.append(col(Task.type) == sa.bindparam("type"))
    if shape.status:
        where.append(col(Task.status).in_(many("status")))
    if shape.assignee:
        where.append(col(Task.assignee_id) == sa.bindparam("assignee_id"))
    if shape.priority:
        where.append(col(Task.priority).in_(many("priority")))
    if shape.due_before:
        where.append(col(Task.due_date) <= sa.bindparam("due_before"))
    if shape.due_after:
        where.append(col(Task.due_date) >= sa.bindparam("due_after"))
    return where


def _order(sort: str) -> list[sa.ColumnElement]:
    """`-priority,due_date` → priority descending, then due date; id last, for stable pages."""
    order = []
    for part in (p.strip() for p in sort.split(",") if p.strip()):
        name = part.lstrip("-+")
        if name not in SORTABLE:
            raise InvalidInput(f"cannot sort by {name!r}; use one of {', '.join(SORTABLE)}")
        column = SORTABLE[name]
        key = column.desc() if part.startswith("-") else column.asc()
        # NULLS LAST only where there are nulls: on the other columns it would keep
        # PostgreSQL from reading the page off their index
        order.append(key.nulls_last() if name in NULLABLE else key)
    return [*order, col(Task.id).asc()]
