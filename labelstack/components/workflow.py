"""Small widgets the workflow pages share: badges, progress, dates, durations, error text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nicegui import events, ui
from sqlmodel import Session

from labelstack.db.enums import TaskStatus
from labelstack.db.models import Task, User
from labelstack.services.accounts import users
from labelstack.services.errors import ServiceError, validation_message
from labelstack.services.tasks.items import Progress
from labelstack.services.tasks.queries import TaskRow
from labelstack.services.tasks.rules import ACTIVE

Done = Callable[[], Awaitable[None]]
"""What a dialog or panel awaits once it changed something (the page reloads its rows)."""
NOBODY = 0
"""The assignee choice "Nobody (unassigned)"."""
STATUS_COLORS = {"unassigned": "grey-6", "open": "blue-7", "in_progress": "orange-8",
                 "done": "positive", "cancelled": "grey-5"}
LOADING = "Loading…"
PRIORITY_COLORS = {"low": "grey-6", "normal": "blue-grey-6", "high": "orange-8",
                   "urgent": "negative"}
STATUS_ACTIONS = {"open": "Reopen", "in_progress": "Start", "done": "Finish",
                  "cancelled": "Cancel", "unassigned": "Unassign"}
STATUS_ICONS = {"open": "replay", "in_progress": "play_arrow", "done": "check",
                "cancelled": "block", "unassigned": "person_remove"}

# Vue templates for table cells (props.value / props.row come from the row dicts).
STATUS_CELL = """
    <q-td :props="props">
      <q-badge :color="props.row.status_color" :label="props.value.replace('_', ' ')"
               class="q-px-sm q-py-xs" />
    </q-td>"""
PRIORITY_CELL = """
    <q-td :props="props">
      <q-chip dense square outline :color="props.row.priority_color" class="q-ma-none"
              :label="props.value" />
    </q-td>"""
PROGRESS_CELL = """
    <q-td :props="props">
      <div class="row items-center no-wrap q-gutter-x-sm" style="min-width: 120px">
        <q-linear-progress rounded size="8px" color="primary" track-color="grey-4"
                           :value="props.row.progress_total
                                   ? props.row.progress_done / props.row.progress_total : 0"
                           style="width: 80px" />
        <span class="text-caption text-grey-8">
          {{ props.row.progress_done }}/{{ props.row.progress_total }}</span>
      </div>
    </q-td>"""
DUE_CELL = """
    <q-td :props="props">
      <span v-if="props.value" :class="props.row.overdue ? 'text-negative text-weight-medium' : ''">
        <q-icon v-if="props.row.overdue" name="schedule" class="q-mr-xs" />{{ props.value }}
      </span>
      <span v-else class="text-grey-5">—</span>
    </q-td>"""
LABEL_CELL = """
    <q-td :props="props">
      <span :style="{background: props.row.color}" class="q-mr-sm"
            style="display:inline-block;width:12px;height:12px;border-radius:3px"></span>{{ props.value }}
    </q-td>"""
"""A label's name after a swatch of its colour (rows carry `color`)."""
NAME_CELL = """
    <q-td :props="props">
      <div class="text-weight-medium">{{ props.value }}</div>
      <div v-if="props.row.description" class="text-caption text-grey-7 ellipsis-2-lines">
        {{ props.row.description }}</div>
    </q-td>"""


def task_row(task: Task | TaskRow, progress: Progress | None, *, assignee: str = "") -> dict:
    """The plain dict a task table shows for one task and its progress."""
    return {
        "id": task.id, "name": task.name, "description": task.description, "type": task.type,
        "status": task.status, "status_color": STATUS_COLORS.get(task.status, "grey"),
        "priority": task.priority, "priority_color": PRIORITY_COLORS.get(task.priority, "grey"),
        "assignee": assignee, "due_date": task.due_date.isoformat() if task.due_date else "",
        "overdue": is_overdue(task.due_date, task.status),
        "progress_done": progress.done if progress else 0,
        "progress_total": progress.total if progress else 0,
        "time_spent": duration(progress.time_spent if progress else task.time_spent),
        "row_version": task.row_version,
    }


def is_overdue(due: date | None, status: str) -> bool:
    return due is not None and due < date.today() and TaskStatus(status) in ACTIVE


def duration(seconds: float) -> str:
    """`0` → "—", 90 → "1 min", 3900 → "1 h 5 min"."""
    minutes = int(round(seconds / 60))
    if seconds <= 0:
        return "—"
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def error_text(exc: Exception) -> str:
    """A service refusal as one readable line, with what the service says is allowed."""
    if not isinstance(exc, ServiceError):
        return validation_message(exc)
    parts = [exc.detail]
    allowed = exc.extra.get("allowed")
    if allowed is not None:
        parts.append("allowed next: " + (", ".join(str(a).replace("_", " ") for a in allowed)
                                         or "none"))
    for key, value in exc.extra.items():
        if key != "allowed" and isinstance(value, list) and value:
            parts.append(f"{key.replace('_', ' ')}: {', '.join(str(v) for v in value)}")
    return " — ".join(parts)


def notify_error(exc: Exception) -> None:
    ui.notify(error_text(exc), type="negative", multi_line=True, close_button="OK",
              timeout=10_000)


def notify_detail(exc: ServiceError) -> None:
    """The shorter notification of the Images and Statistics pages: the refusal's detail."""
    ui.notify(exc.detail, type="negative")


def user_names(session: Session, *, actor: User) -> dict[int, str]:
    """Every user by id, for showing and choosing people (assignees, audit actors)."""
    return {u.id: u.display_name for u in users.list_users(session, actor=actor)}


def date_input(label: str, *, testid: str, value: str = "") -> ui.input:
    """A text input (YYYY-MM-DD) with a calendar menu."""
    field = ui.input(label, value=value).props(f"outlined dense clearable data-testid={testid}")
    with field.add_slot("append"):
        icon = ui.icon("event").classes("cursor-pointer")
        with ui.menu().props("no-parent-event") as menu:
            ui.date(mask="YYYY-MM-DD").bind_value(field).on_value_change(menu.close)
        icon.on("click", menu.open)
    return field


def parse_date(text: str | None) -> date | None:
    """'' → None; '2030-01-31' → date; anything else raises ValueError with the field's text."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def empty_state(table: ui.table, text: str, *, icon: str = "inbox") -> None:
    """Shown by the table itself when it has no rows (a spinner while it is `loading`)."""
    table.props(f'loading-label="{LOADING}"')
    table.add_slot("no-data", f"""
        <div v-if="props.message === '{LOADING}'" class="full-width row justify-center q-py-lg">
          <q-spinner size="32px" color="primary" />
        </div>
        <div v-else class="full-width column items-center q-py-lg text-grey-7"
             data-testid="empty-state">
          <q-icon name="{icon}" size="40px" class="q-mb-sm" />
          <div class="text-body1">{text}</div>
        </div>""")


@dataclass(kw_only=True, slots=True)
class TableView:
    """A server-paged table's state: filters, sort, page and the server's row count."""

    sort_by: str
    descending: bool = True
    page: int = 1
    page_size: int = 20
    filters: dict = field(default_factory=dict)
    total: int = 0

    @property
    def pagination(self) -> dict[str, Any]:
        """The table's `pagination` prop for this state."""
        return {"page": self.page, "rowsPerPage": self.page_size, "rowsNumber": self.total,
                "sortBy": self.sort_by, "descending": self.descending}


def keep_row_count(table: ui.table, count: Callable[[], int]) -> None:
    """Server-side paging: the browser echoes its pagination back (once on mount, with
    `rowsNumber` 0); keep the row count the server knows."""
    def restore(_event: events.ValueChangeEventArguments) -> None:
        if table.pagination.get("rowsNumber") != count():
            table.pagination = {**table.pagination, "rowsNumber": count()}

    table.on_pagination_change(restore)


def show_page(table: ui.table, view: TableView, rows: list[dict], total: int) -> None:
    """Server-side paging: one page of rows, with the server's row count in `view` and in the
    table's pagination."""
    table.rows = rows
    view.total = total
    table.pagination = {**table.pagination, **view.pagination}
    loading(table, False)
    table.update()


def loading(table: ui.table, busy: bool) -> None:
    if busy:
        table.props("loading")
    else:
        table.props(remove="loading")
