"""The Tasks page's parts: its filter bar and its server-paged table of tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import events, ui

from labelstack.components.workflow import (
    DUE_CELL,
    PRIORITY_CELL,
    PROGRESS_CELL,
    STATUS_ACTIONS,
    STATUS_CELL,
    STATUS_ICONS,
    Done,
    TableView,
    date_input,
    empty_state,
    keep_row_count,
    parse_date,
    show_page,
    task_row,
)
from labelstack.db.enums import Priority, TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.services.tasks import records
from labelstack.services.tasks.items import Progress
from labelstack.services.tasks.queries import TaskRow

COLUMNS = [
    {"name": "name", "label": "Task", "field": "name", "sortable": True, "align": "left",
     "style": "white-space: normal; min-width: 220px"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "priority", "label": "Priority", "field": "priority", "sortable": True,
     "align": "left"},
    {"name": "assignee", "label": "Assignee", "field": "assignee", "align": "left"},
    {"name": "due_date", "label": "Due", "field": "due_date", "sortable": True, "align": "left"},
    {"name": "progress", "label": "Progress", "field": "progress_done", "align": "left"},
    {"name": "time_spent", "label": "Time spent", "field": "time_spent", "align": "right"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]
ACTIONS_CELL = """
    <q-td :props="props" class="q-gutter-x-xs">
      <q-btn flat dense round icon="edit" :data-testid="'task-edit-' + props.row.id"
             @click="$parent.$emit('edit', props.row.id)"><q-tooltip>Edit</q-tooltip></q-btn>
      <q-btn v-if="props.row.next.length" flat dense no-caps icon-right="expand_more"
             label="Status" :data-testid="'task-status-' + props.row.id">
        <q-menu auto-close>
          <q-list dense style="min-width: 140px">
            <q-item v-for="n in props.row.next" :key="n.value" clickable :disable="!!n.why"
                    :data-testid="'task-status-' + props.row.id + '-' + n.value"
                    @click="$parent.$emit('status', {id: props.row.id, status: n.value,
                                                     name: props.row.name,
                                                     row_version: props.row.row_version})">
              <q-item-section avatar style="min-width: 32px">
                <q-icon :name="n.icon" size="xs" /></q-item-section>
              <q-item-section>
                <q-item-label>{{ n.label }}</q-item-label>
                <q-item-label v-if="n.why" caption>{{ n.why }}</q-item-label>
              </q-item-section>
            </q-item>
          </q-list>
        </q-menu>
      </q-btn>
    </q-td>"""
TASK_NAME_CELL = """
    <q-td :props="props">
      <a :href="'/tasks/' + props.row.id" class="text-weight-medium text-primary"
         style="text-decoration: none" :data-testid="'task-link-' + props.row.id">
        {{ props.value }}</a>
      <div v-if="props.row.description" class="text-caption text-grey-7 ellipsis-2-lines">
        {{ props.row.description }}</div>
    </q-td>"""
"""A task's name as the link to its details page, its description below."""
ANY = ""
EMPTY = "No tasks yet — create one with “New task”"
REOPEN_NEEDS_ASSIGNEE = "Assign someone first (Edit): an open task needs an assignee"
Handler = Callable[[events.GenericEventArguments], Awaitable[None]]


class TaskFilters:
    """Type, status, assignee, priority and due dates in one row (the search box sits in the
    toolbar above it); every change calls `on_change`, and a bad date shows in `error`."""

    def __init__(self, names: dict[int, str], *, search: ui.input, on_change: Done) -> None:
        self.search = search
        with ui.row().classes("w-full items-center gap-2"):
            self.type = ui.select({ANY: "Any type", **{t.value: t.value for t in TaskType}},
                                  value=ANY, label="Type").props(
                "outlined dense options-dense data-testid=tasks-filter-type").classes("w-36")
            self.status = ui.select([s.value for s in TaskStatus], multiple=True,
                                    label="Status").props(
                "outlined dense options-dense use-chips clearable "
                "data-testid=tasks-filter-status").classes("min-w-[12rem]")
            self.assignee = ui.select({0: "Anyone", **names}, value=0, label="Assignee").props(
                "outlined dense options-dense data-testid=tasks-filter-assignee").classes("w-48")
            self.priority = ui.select([p.value for p in Priority], multiple=True,
                                      label="Priority").props(
                "outlined dense options-dense use-chips clearable "
                "data-testid=tasks-filter-priority").classes("min-w-[10rem]")
            self.after = date_input("Due after", testid="tasks-filter-due-after").classes("w-40")
            self.before = date_input("Due before",
                                     testid="tasks-filter-due-before").classes("w-40")
            ui.button("Reset", icon="filter_alt_off", on_click=self.reset).props(
                "flat dense no-caps data-testid=tasks-filter-reset")
        self.error = ui.label().classes("text-negative").props("data-testid=tasks-filter-error")
        self.error.bind_visibility_from(self.error, "text")
        self.on_change = on_change
        for element in self._defaults():
            element.on_value_change(on_change)

    def values(self) -> dict:
        """The filters for `TaskFilter`; raises ValueError for a date that is none."""
        return {"type": self.type.value or None, "status": self.status.value or [],
                "assignee_id": self.assignee.value or None,
                "priority": self.priority.value or [],
                "due_after": parse_date(self.after.value),
                "due_before": parse_date(self.before.value),
                "q": (self.search.value or "").strip() or None}

    async def reset(self) -> None:
        for element, value in self._defaults().items():
            element.set_value(value)
        await self.on_change()

    def _defaults(self) -> dict[ui.select | ui.input, Any]:
        return {self.type: ANY, self.status: [], self.assignee: 0, self.priority: [],
                self.after: "", self.before: "", self.search: ""}


class TaskTable:
    """Tasks with their status menu (only the states the admin may choose) and edit button;
    the browser's paging and sorting requests go to `on_request`."""

    def __init__(self, view: TableView, *, on_request: Handler, on_status: Handler,
                 on_edit: Handler, on_select: Callable[[], object]) -> None:
        self.view = view
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="id", selection="multiple",
                              pagination=view.pagination) \
            .classes("w-full").props("flat bordered loading data-testid=tasks-table")
        self.table.props["rows-per-page-options"] = [10, 20, 50, 100]
        for name, cell in (("name", TASK_NAME_CELL), ("status", STATUS_CELL),
                           ("priority", PRIORITY_CELL), ("due_date", DUE_CELL),
                           ("progress", PROGRESS_CELL), ("actions", ACTIONS_CELL)):
            self.table.add_slot(f"body-cell-{name}", cell)
        empty_state(self.table, EMPTY, icon="assignment")
        self.table.on("request", on_request)
        keep_row_count(self.table, lambda: view.total)
        self.table.on("status", on_status)
        self.table.on("edit", on_edit)
        self.table.on_select(on_select)

    @property
    def selected_ids(self) -> list[int]:
        return [r["id"] for r in self.table.selected]

    def show(self, rows: list[dict], total: int, *, filtered: bool) -> None:
        empty_state(self.table, "No tasks match these filters" if filtered else EMPTY,
                    icon="assignment")
        self.table.selected = []
        show_page(self.table, self.view, rows, total)


def status_row(task: Task | TaskRow, progress: Progress | None, *, actor: User,
               names: dict[int, str]) -> dict:
    """A task's row with the next states `actor` may move it to (its Status menu)."""
    row = task_row(task, progress, assignee=names.get(task.assignee_id, "") if task.assignee_id
                   else "—")
    row["next"] = [{"value": s.value, "label": STATUS_ACTIONS[s.value],
                    "icon": STATUS_ICONS[s.value], "why": ""}
                   for s in records.allowed_next(task, actor)]
    if task.status == TaskStatus.cancelled and task.assignee_id is None and not row["next"]:
        row["next"] = [{"value": TaskStatus.open.value, "label": STATUS_ACTIONS["open"],
                        "icon": STATUS_ICONS["open"], "why": REOPEN_NEEDS_ASSIGNEE}]
    return row


async def confirm_cancel(name: str) -> bool:
    """Ask before cancelling: the work stops, and the task can only come back by a reopen."""
    with ui.dialog() as dialog, ui.card().classes("w-[28rem] gap-3") \
            .props("data-testid=cancel-dialog"):
        ui.label(f"Cancel “{name}”?").classes("text-h6")
        ui.label("Its assignee can no longer work on it. You can reopen it later from its "
                 "Status menu.").classes("text-grey-8")
        with ui.row().classes("w-full justify-end"):
            ui.button("Keep the task", on_click=lambda: dialog.submit(False)).props(
                "flat no-caps data-testid=cancel-keep")
            ui.button("Cancel the task", color="negative",
                      on_click=lambda: dialog.submit(True)).props(
                "unelevated no-caps data-testid=cancel-confirm")
    dialog.on("hide", dialog.delete)  # one use: gone once closed
    return bool(await dialog)
