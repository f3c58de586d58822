"""/tasks: admins see, filter, create, edit (one or many) and move every task along its flow."""

from __future__ import annotations

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import call, try_call
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.task_create import TaskDialog
from labelstack.components.task_edit import edit_tasks
from labelstack.components.task_table import TaskFilters, TaskTable, confirm_cancel, status_row
from labelstack.components.workflow import TableView, error_text, user_names
from labelstack.db.enums import Role, TaskStatus
from labelstack.db.models import User
from labelstack.services.tasks import queries as task_queries
from labelstack.services.tasks.queries import TaskFilter
from labelstack.services.workflow import transitions


@ui.page("/tasks")
async def tasks_page() -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    names = await call(user_names, roles=Role.admin)
    with frame("Tasks", user=actor):
        page = TasksPage(names)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await page.load()


class TasksPage:
    """The toolbar, the filter bar and the table, and what their events do."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.view = TableView(sort_by="created_at")
        with ui.row().classes("w-full items-center gap-2"):
            search = ui.input(placeholder="Search name or description").props(
                "outlined dense clearable debounce=300 data-testid=tasks-search").classes("w-72")
            ui.space()
            self.bulk = ui.button("Edit selected", icon="edit_note", on_click=self.edit_selected) \
                .props("outline no-caps data-testid=tasks-bulk-edit")
            ui.button("New task", icon="add", on_click=lambda: TaskDialog(on_saved=self.load)
                      .open()).props("unelevated no-caps data-testid=tasks-new")
        self.filters = TaskFilters(names, search=search, on_change=self.first_page)
        self.table = TaskTable(self.view, on_request=self.on_request,
                               on_status=self.change_status, on_edit=self.edit_one,
                               on_select=lambda: self.bulk.set_enabled(bool(self.table.selected_ids)))

    async def load(self) -> None:
        error = self.filters.error
        try:
            self.view.filters = self.filters.values()
            query = TaskFilter(**self.view.filters, page=self.view.page,
                               page_size=self.view.page_size,
                               sort=("-" if self.view.descending else "") + self.view.sort_by)
        except ValueError as exc:  # a bad date, or a filter pydantic refuses
            error.set_text(error_text(exc))
            return
        error.set_text("")
        found = await try_call(_page, query, self.names, roles=Role.admin,
                               report=lambda exc: error.set_text(error_text(exc)))
        if found is None:
            return
        rows, total = found
        self.table.show(rows, total, filtered=any(v for v in self.view.filters.values()))
        self.bulk.disable()

    async def first_page(self) -> None:
        self.view.page = 1
        await self.load()

    async def on_request(self, event: events.GenericEventArguments) -> None:
        p = event.args["pagination"]
        self.view.page, self.view.page_size = p.get("page", 1), p.get("rowsPerPage") or 20
        self.view.sort_by = p.get("sortBy") or "created_at"
        self.view.descending = bool(p.get("descending"))
        await self.load()

    async def change_status(self, event: events.GenericEventArguments) -> None:
        args = event.args
        if args["status"] == TaskStatus.cancelled and not await confirm_cancel(args["name"]):
            return
        task = await try_call(transitions.set_status, task_id=args["id"],
                              status=TaskStatus(args["status"]), row_version=args["row_version"],
                              roles=Role.admin)
        if task is not None:
            ui.notify(f"Task {args['id']}: {args['status'].replace('_', ' ')}", type="positive")
        await self.load()

    async def edit_selected(self) -> None:
        if self.table.selected_ids:
            await edit_tasks(self.table.selected_ids, self.names, on_saved=self.load)

    async def edit_one(self, event: events.GenericEventArguments) -> None:
        await edit_tasks([int(event.args)], self.names, on_saved=self.load)


def _page(session: Session, query: TaskFilter, names: dict[int, str], *,
          actor: User) -> tuple[list[dict], int]:
    """One page of tasks as table rows, and how many tasks match."""
    page = task_queries.list_tasks(session, actor=actor, query=query)
    return [status_row(t, page.progress.get(t.id), actor=actor, names=names)
            for t in page.items], page.total
