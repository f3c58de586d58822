"""The Tasks page's Edit dialog: one task (every field) or many at once."""

from __future__ import annotations

from nicegui import ui
from sqlmodel import Session

from labelstack.components.calls import save_form, try_call
from labelstack.components.field_errors import FieldErrors
from labelstack.components.task_items_editor import ItemsEditor, ItemsToEdit, items_to_edit
from labelstack.components.workflow import NOBODY, Done, date_input
from labelstack.db.enums import Priority, Role
from labelstack.db.models import Task, User
from labelstack.services.tasks import records as tasks
from labelstack.services.workflow import edits as task_edits
from labelstack.services.workflow.edits import (
    BulkTaskUpdate,
    ItemChanges,
    TaskChanges,
    TaskUpdate,
)

KEEP = -1


async def edit_tasks(ids: list[int], names: dict[int, str], *, on_saved: Done) -> None:
    """Open the Edit dialog for `ids`, with the task read fresh when it is just one."""
    found = await try_call(_fresh, ids, roles=Role.admin)
    if found is not None:
        task, items = found
        dialog = EditDialog(ids, task, names, items=items, on_saved=on_saved)
        dialog.open()
        if dialog.items is not None:
            await dialog.items.load()


class EditDialog:
    """Edit one task (all fields) or many at once (priority, due date, assignee)."""

    def __init__(self, ids: list[int], task: Task | None, names: dict[int, str], *,
                 items: ItemsToEdit | None, on_saved: Done) -> None:
        self.ids, self.task, self.on_saved = ids, task, on_saved
        t = task
        width = "w-[56rem] max-w-full" if items is not None else "w-[30rem]"
        with ui.dialog() as self.dialog, ui.card().classes(f"{width} gap-3") \
                .props("data-testid=task-edit-dialog"):
            ui.label(f"Edit task {t.id}" if t else f"Edit {len(ids)} tasks").classes("text-h6")
            if t:
                self.name = ui.input("Name", value=t.name).props(
                    "outlined dense data-testid=edit-name").classes("w-full")
                self.description = ui.textarea("Description", value=t.description).props(
                    "outlined dense autogrow data-testid=edit-description").classes("w-full")
            keep = {} if t else {"": "(keep)"}
            self.priority = ui.select({**keep, **{p.value: p.value for p in Priority}},
                                      value=t.priority if t else "", label="Priority") \
                .props("outlined dense data-testid=edit-priority").classes("w-full")
            with ui.row().classes("w-full items-center no-wrap gap-3"):
                self.due = date_input("Due date", testid="edit-due",
                                      value=t.due_date.isoformat() if t and t.due_date else "") \
                    .classes("grow")
                self.clear_due = ui.checkbox("Clear due date").props("data-testid=edit-clear-due")
                self.clear_due.set_visibility(t is None)
            if t is None:
                ui.label("Leave a field empty to keep each task's value.") \
                    .classes("text-caption text-grey-7 -mt-2")
            self.assignee = ui.select({**({} if t else {KEEP: "(keep)"}),
                                       NOBODY: "Nobody (unassigned)", **names},
                                      value=(t.assignee_id or NOBODY) if t else KEEP,
                                      label="Assignee").props(
                "outlined dense data-testid=edit-assignee").classes("w-full")
            self.items = ItemsEditor(t, items) if t is not None and items is not None else None
            if t is not None and items is None:
                ui.label("Its items are fixed: the task has started.").classes(
                    "text-caption text-grey-7").props("data-testid=edit-items-fixed")
            self.error = ui.label().classes("text-negative").props("data-testid=edit-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Save", on_click=self.save).props(
                    "unelevated no-caps data-testid=edit-save")
        fields = {"due_date": (self.due, "due date")}
        if t:
            fields |= {"name": (self.name, "name"), "description": (self.description, "description")}
        self.errors = FieldErrors(fields, line=self.error)

    def open(self) -> None:
        self.dialog.on("hide", self.dialog.delete)  # one use: gone once closed
        self.dialog.open()

    def _changes(self) -> dict:
        t, out = self.task, {}
        due = self.errors.date("due_date", self.due.value)
        if t is not None:
            wanted = {"name": (self.name.value or "").strip(),
                      "description": self.description.value or "",
                      "priority": self.priority.value, "due_date": due,
                      "assignee_id": self.assignee.value or None}
            return {k: v for k, v in wanted.items() if getattr(t, k) != v}
        if self.priority.value:
            out["priority"] = self.priority.value
        if self.clear_due.value or due is not None:
            out["due_date"] = None if self.clear_due.value else due
        if self.assignee.value != KEEP:
            out["assignee_id"] = self.assignee.value or None
        return out

    async def save(self) -> None:
        task = self.task

        def data() -> tuple[TaskUpdate | BulkTaskUpdate | None, ItemChanges | None]:
            changes = self._changes()
            items = self.items.changes() if self.items is not None else None
            if task is None:
                return BulkTaskUpdate(ids=self.ids, changes=TaskChanges(**changes)), None
            if items is not None:
                items.row_version = task.row_version
            return (TaskUpdate(**changes, row_version=None if items else task.row_version)
                    if changes else None), items

        def update(session: Session,
                   data: tuple[TaskUpdate | BulkTaskUpdate | None, ItemChanges | None], *,
                   actor: User) -> str:
            fields, items = data
            if items is not None and task is not None:  # first: the likelier refusal
                task_edits.edit_items(session, actor=actor, task_id=task.id, data=items)
            if isinstance(fields, BulkTaskUpdate):
                task_edits.bulk_update_tasks(session, actor=actor, data=fields)
            elif fields is not None and task is not None:
                task_edits.update_task(session, actor=actor, task_id=task.id, data=fields)
            n = len(self.ids)
            return f"{n} task{'s' if n != 1 else ''} saved"

        ok, checked = self.errors.check(data)
        if ok:
            await save_form(self, lambda: checked, update, roles=Role.admin)


def _fresh(session: Session, ids: list[int], *,
           actor: User) -> tuple[Task | None, ItemsToEdit | None]:
    """The task and its items when `ids` is just one (an edit of many shows no task's
    values)."""
    if len(ids) != 1:
        return None, None
    task = tasks.read_task(session, actor=actor, task_id=ids[0])
    return task, items_to_edit(session, task, actor=actor)
