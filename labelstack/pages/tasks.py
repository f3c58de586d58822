"""/tasks: admins see, filter, create, edit (one or many) and move every task along its flow."""

from __future__ import annotations

from nicegui import run, ui

from labelstack.components.frame import frame, signed_in_user
from labelstack.components.session import current_actor
from labelstack.components.task_create import TaskDialog
from labelstack.components.task_edit import assignee_names, edit_tasks
from labelstack.components.workflow import (
    DUE_CELL,
    NAME_CELL,
    PRIORITY_CELL,
    PROGRESS_CELL,
    STATUS_ACTIONS,
    STATUS_CELL,
    STATUS_ICONS,
    TableView,
    date_input,
    empty_state,
    error_text,
    keep_row_count,
    loading,
    notify_error,
    parse_date,
    task_row,
)
from labelstack.db.enums import Priority, Role, TaskStatus, TaskType
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.errors import ServiceError
from labelstack.services.tasks import queries as task_queries
from labelstack.services.tasks import rules
from labelstack.services.tasks.queries import TaskFilter
from labelstack.services.workflow import transitions

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
            <q-item v-for="n in props.row.next" :key="n.value" clickable
                    :data-testid="'task-status-' + props.row.id + '-' + n.value"
                    @click="$parent.$emit('status', {id: props.row.id, status: n.value,
                                                     row_version: props.row.row_version})">
              <q-item-section avatar style="min-width: 32px">
                <q-icon :name="n.icon" size="xs" /></q-item-section>
              <q-item-section>{{ n.label }}</q-item-section>
            </q-item>
          </q-list>
        </q-menu>
      </q-btn>
    </q-td>"""
ANY = ""
EMPTY = "No tasks yet — create one with “New task”"


@ui.page("/tasks")
async def tasks_page() -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    view = TableView(sort_by="created_at")
    names = await run.io_bound(assignee_names, actor)
    with frame("Tasks", user=actor):
        with ui.row().classes("w-full items-center gap-2"):
            search = ui.input(placeholder="Search name or description").props(
                "outlined dense clearable debounce=300 data-testid=tasks-search").classes("w-72")
            ui.space()
            bulk = ui.button("Edit selected", icon="edit_note", on_click=lambda: edit_selected()) \
                .props("outline no-caps data-testid=tasks-bulk-edit")
            ui.button("New task", icon="add", on_click=lambda: TaskDialog(on_saved=load)
                      .open()).props("unelevated no-caps data-testid=tasks-new")
        with ui.row().classes("w-full items-center gap-2"):
            f_type = ui.select({ANY: "Any type", **{t.value: t.value for t in TaskType}},
                               value=ANY, label="Type").props(
                "outlined dense options-dense data-testid=tasks-filter-type").classes("w-36")
            f_status = ui.select([s.value for s in TaskStatus], multiple=True, label="Status") \
                .props("outlined dense options-dense use-chips clearable "
                       "data-testid=tasks-filter-status").classes("min-w-[12rem]")
            f_assignee = ui.select({0: "Anyone", **names}, value=0, label="Assignee").props(
                "outlined dense options-dense data-testid=tasks-filter-assignee").classes("w-48")
            f_priority = ui.select([p.value for p in Priority], multiple=True, label="Priority") \
                .props("outlined dense options-dense use-chips clearable "
                       "data-testid=tasks-filter-priority").classes("min-w-[10rem]")
            f_after = date_input("Due after", testid="tasks-filter-due-after").classes("w-40")
            f_before = date_input("Due before", testid="tasks-filter-due-before").classes("w-40")
            ui.button("Reset", icon="filter_alt_off", on_click=lambda: reset()).props(
                "flat dense no-caps data-testid=tasks-filter-reset")
        filter_error = ui.label().classes("text-negative").props("data-testid=tasks-filter-error")
        filter_error.bind_visibility_from(filter_error, "text")
        table = ui.table(columns=COLUMNS, rows=[], row_key="id", selection="multiple",
                         pagination=view.pagination) \
            .classes("w-full").props("flat bordered loading data-testid=tasks-table")
        table.props["rows-per-page-options"] = [10, 20, 50, 100]
        for name, cell in (("name", NAME_CELL), ("status", STATUS_CELL),
                           ("priority", PRIORITY_CELL), ("due_date", DUE_CELL),
                           ("progress", PROGRESS_CELL), ("actions", ACTIONS_CELL)):
            table.add_slot(f"body-cell-{name}", cell)
        empty_state(table, EMPTY, icon="assignment")

    def read_filters() -> dict:
        return {"type": f_type.value or None, "status": f_status.value or [],
                "assignee_id": f_assignee.value or None, "priority": f_priority.value or [],
                "due_after": parse_date(f_after.value), "due_before": parse_date(f_before.value),
                "q": (search.value or "").strip() or None}

    async def load() -> None:
        try:
            view.filters = read_filters()
            query = TaskFilter(**view.filters, page=view.page, page_size=view.page_size,
                               sort=("-" if view.descending else "") + view.sort_by)
        except ValueError as exc:  # a bad date, or a filter pydantic refuses
            filter_error.set_text(error_text(exc))
            return
        filter_error.set_text("")
        try:
            actor = await current_actor(Role.admin)
            page = await run.io_bound(_page, actor, query)
        except ServiceError as exc:
            filter_error.set_text(error_text(exc))
            return
        filtered = any(v for v in view.filters.values())
        empty_state(table, "No tasks match these filters" if filtered
                    else EMPTY, icon="assignment")
        table.rows = [_row(actor, t, page.progress.get(t.id), names) for t in page.items]
        view.total = page.total
        table.pagination = {**table.pagination, **view.pagination}
        table.selected = []
        loading(table, False)
        bulk.disable()
        table.update()

    async def on_request(event) -> None:  # noqa: ANN001
        p = event.args["pagination"]
        view.page, view.page_size = p.get("page", 1), p.get("rowsPerPage") or 20
        view.sort_by, view.descending = p.get("sortBy") or "created_at", bool(p.get("descending"))
        await load()

    async def change_status(event) -> None:  # noqa: ANN001
        args = event.args
        try:
            actor = await current_actor(Role.admin)
        except ServiceError as exc:  # signed out or no longer an admin: nothing to reload
            notify_error(exc)
            return
        try:
            await run.io_bound(_set_status, actor, args["id"], TaskStatus(args["status"]),
                               args["row_version"])
        except ServiceError as exc:
            notify_error(exc)
        else:
            ui.notify(f"Task {args['id']}: {args['status'].replace('_', ' ')}", type="positive")
        await load()

    async def edit_selected() -> None:
        if table.selected:
            await edit_tasks([r["id"] for r in table.selected], names, on_saved=load)

    async def edit_one(event) -> None:  # noqa: ANN001
        await edit_tasks([int(event.args)], names, on_saved=load)

    async def reset() -> None:
        for element, value in ((f_type, ANY), (f_status, []), (f_assignee, 0), (f_priority, []),
                               (f_after, ""), (f_before, ""), (search, "")):
            element.set_value(value)
        await load()

    table.on("request", on_request)
    keep_row_count(table, lambda: view.total)
    table.on("status", change_status)
    table.on("edit", edit_one)
    table.on_select(lambda: bulk.set_enabled(bool(table.selected)))
    for element in (f_type, f_status, f_assignee, f_priority, f_after, f_before, search):
        element.on_value_change(_first_page(view, load))
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await load()


def _first_page(view: TableView, load):  # noqa: ANN001, ANN202
    async def handler() -> None:
        view.page = 1
        await load()
    return handler


def _page(actor: User, query: TaskFilter) -> task_queries.TaskPage:
    with session_scope() as session:
        return task_queries.list_tasks(session, actor=actor, query=query)


def _set_status(actor: User, task_id: int, status: TaskStatus, row_version: int) -> None:
    with session_scope() as session:
        transitions.set_status(session, actor=actor, task_id=task_id, status=status,
                         row_version=row_version)


def _row(actor: User, task, progress, names: dict[int, str]) -> dict:  # noqa: ANN001
    who = rules.Who(is_admin=True, is_assignee=task.assignee_id == actor.id)
    nxt = rules.allowed_next(TaskStatus(task.status), who=who,
                             has_assignee=task.assignee_id is not None)
    row = task_row(task, progress, assignee=names.get(task.assignee_id, "") if task.assignee_id
                   else "—")
    row["next"] = [{"value": s.value, "label": STATUS_ACTIONS[s.value],
                    "icon": STATUS_ICONS[s.value]} for s in nxt]
    return row
