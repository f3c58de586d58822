"""The Tasks page's New-task dialog: its fields, an assignee of the right role, its items."""

from __future__ import annotations

from nicegui import ui
from sqlmodel import Session

from labelstack.components.calls import save_form, try_call
from labelstack.components.field_errors import FieldErrors
from labelstack.components.series_picker import (
    PICKER_PAGE,
    PICKER_PAGE_SIZES,
    ChosenList,
    SeriesPicker,
)
from labelstack.components.workflow import (
    LABEL_CELL,
    NOBODY,
    Done,
    date_input,
    empty_state,
    error_text,
)
from labelstack.db.enums import Priority, Role, TaskType
from labelstack.db.models import User
from labelstack.services.annotations import reads as annotations
from labelstack.services.images.index import series_titles
from labelstack.services.labels import catalog as labels
from labelstack.services.tasks import records
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate

ITEM_COLUMNS = {
    TaskType.annotation: [
        {"name": "label", "label": "Label", "field": "label", "align": "left"},
        {"name": "image", "label": "Image", "field": "image", "align": "left"},
    ],
    TaskType.review: [
        {"name": "label", "label": "Label", "field": "label", "align": "left"},
        {"name": "image", "label": "Image", "field": "image", "align": "left"},
        {"name": "version", "label": "Version", "field": "version", "align": "right"},
        {"name": "author", "label": "Author", "field": "author", "align": "left"},
    ],
}


class TaskDialog:
    """A new task: fields, assignee of the right role, and its items by type; `images` (rows
    of the Images page) start chosen, as a label task's images."""

    def __init__(self, *, on_saved: Done, images: list[dict] | None = None) -> None:
        self.on_saved = on_saved
        with ui.dialog() as self.dialog, ui.card().classes("w-[60rem] max-w-full gap-3") \
                .props("data-testid=task-dialog"):
            ui.label("New task").classes("text-h6")
            with ui.row().classes("w-full gap-3 no-wrap"):
                self.type = ui.select({t.value: t.value.capitalize() for t in TaskType},
                                      value=TaskType.label.value, label="Type",
                                      on_change=self._type_changed) \
                    .props("outlined dense data-testid=task-type").classes("w-40")
                self.name = ui.input("Name").props("outlined dense data-testid=task-name") \
                    .classes("grow")
            self.description = ui.textarea("Description").props(
                "outlined dense autogrow data-testid=task-description").classes("w-full")
            with ui.row().classes("w-full gap-3 no-wrap"):
                self.priority = ui.select([p.value for p in Priority], value="normal",
                                          label="Priority").props(
                    "outlined dense data-testid=task-priority").classes("w-40")
                self.due = date_input("Due date", testid="task-due").classes("w-48")
                self.assignee = ui.select({NOBODY: "Nobody (unassigned)"}, value=NOBODY,
                                          label="Assignee").props(
                    "outlined dense data-testid=task-assignee").classes("grow")
            ui.separator()
            self.items_title = ui.label().classes("text-subtitle1 font-medium")
            with ui.column().classes("w-full") as self.series_box:
                self.series = SeriesPicker(testid="task-series")
                if images:
                    self.series.choose(images)
            with ui.column().classes("w-full gap-2") as self.item_box:
                self.item_filter = ui.input(placeholder="Filter").props(
                    "outlined dense clearable data-testid=task-items-filter").classes("w-72")
                self.items = ui.table(columns=ITEM_COLUMNS[TaskType.annotation], rows=[],
                                      row_key="id", selection="multiple",
                                      pagination=PICKER_PAGE, on_select=self._show_chosen) \
                    .classes("w-full").props("flat bordered dense data-testid=task-items")
                self.items.props["rows-per-page-options"] = PICKER_PAGE_SIZES
                self.items.add_slot("body-cell-label", LABEL_CELL)
                self.item_filter.bind_value_to(self.items, "filter")
                self.chosen = ChosenList(testid="task-items-chosen", on_remove=self._unchoose)
            self.error = ui.label().classes("text-negative").props("data-testid=task-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Create task", on_click=self.save).props(
                    "unelevated no-caps data-testid=task-save")
        self.errors = FieldErrors({"name": (self.name, "name"),
                                   "description": (self.description, "description"),
                                   "due_date": (self.due, "due date")}, line=self.error)

    def _show_chosen(self) -> None:
        self.chosen.show({r["id"]: f"{r['label']} on {r['image']}" for r in self.items.selected})

    def _unchoose(self, key: object) -> None:
        self.items.selected = [r for r in self.items.selected if r["id"] != key]
        self.items.update()
        self._show_chosen()

    async def open(self) -> None:
        self.dialog.on("hide", self.dialog.delete)  # one use: gone once closed
        self.dialog.open()
        await self._type_changed()

    async def _type_changed(self) -> None:
        kind = TaskType(self.type.value)
        choices = await try_call(_choices, kind, roles=Role.admin,
                                 report=lambda exc: self.error.set_text(error_text(exc)))
        if choices is None:
            return
        assignable, item_rows = choices
        self.assignee.options = {NOBODY: "Nobody (unassigned)", **assignable}
        if self.assignee.value not in self.assignee.options:
            self.assignee.value = NOBODY
        self.assignee.update()
        self.series_box.set_visibility(kind == TaskType.label)
        self.item_box.set_visibility(kind != TaskType.label)
        self.items_title.set_text({TaskType.label: "Images to label",
                                   TaskType.annotation: "Label assignments to annotate",
                                   TaskType.review: "Annotations awaiting review"}[kind])
        if kind == TaskType.label:
            await self.series.search()
            return
        self.items.columns = ITEM_COLUMNS[kind]
        self.items.rows = item_rows
        self.items.selected = []
        self._show_chosen()
        empty_state(self.items, "No label assignments yet — assign labels on the Labels page"
                    if kind == TaskType.annotation else "No annotations await review",
                    icon="inbox")
        self.items.update()

    async def save(self) -> None:
        kind = TaskType(self.type.value)
        chosen = [r["id"] for r in self.items.selected]

        def data() -> TaskCreate:
            return TaskCreate(
                type=kind, name=(self.name.value or "").strip(),
                description=self.description.value or "", priority=self.priority.value,
                due_date=self.errors.date("due_date", self.due.value),
                assignee_id=self.assignee.value or None,
                series_ids=self.series.selected_ids() if kind == TaskType.label else [],
                label_assignment_ids=chosen if kind == TaskType.annotation else [],
                annotation_ids=chosen if kind == TaskType.review else [])

        ok, checked = self.errors.check(data)
        if ok:
            await save_form(self, lambda: checked, _create, roles=Role.admin)


def _create(session: Session, data: TaskCreate, *, actor: User) -> str:
    task = transitions.create_task(session, actor=actor, data=data)
    return f"Task “{task.name}” created ({task.status})"


def _choices(session: Session, kind: TaskType, *,
             actor: User) -> tuple[dict[int, str], list[dict]]:
    """Who may be assigned a `kind` task, and the items it may hold (label tasks: none here,
    their images are searched in the series picker)."""
    assignable = {u.id: u.display_name for u in records.assignable_users(session, kind)}
    return assignable, [] if kind == TaskType.label else item_choices(session, kind, actor=actor)


def item_choices(session: Session, kind: TaskType, *, actor: User) -> list[dict]:
    """Label assignments (annotation tasks) or annotations awaiting review (review tasks): what
    a new task, or one being edited, may take on as items."""
    if kind == TaskType.review:
        return [{"id": a.id, "label": a.label, "color": a.color, "image": a.image,
                 "version": a.version, "author": a.author or "—"}
                for a in annotations.awaiting_review(session, actor=actor)]
    usable = {lb.id: lb for lb in labels.list_labels(session)}  # archived: not drawn
    assignments = [a for a in labels.list_assignments(session, actor=actor)
                   if a.label_id in usable]
    titles = series_titles(session, (a.series_id for a in assignments))
    return [{"id": a.id, "label": usable[a.label_id].name, "color": usable[a.label_id].color,
             "image": titles.get(a.series_id, "")} for a in assignments]
