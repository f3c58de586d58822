"""The Edit dialog's items part, for a task that has not started: its items as chips to remove,
and a picker of the same kind as the New-task dialog's to add more."""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import ui
from sqlmodel import Session

from labelstack.components.series_picker import SeriesPicker
from labelstack.components.task_create import item_choices
from labelstack.db.enums import TaskType
from labelstack.db.models import Task, User
from labelstack.services.tasks.items import TaskContent
from labelstack.services.workflow.edits import ITEMS_EDITABLE, ItemChanges
from labelstack.services.workflow.task_details import task_details


@dataclass(frozen=True, slots=True)
class ItemsToEdit:
    """The task's items (held id → text) and, for annotation and review tasks, what may be
    added (id → text; label tasks search images in the picker)."""

    current: dict[int, str]
    choices: dict[int, str]


def items_to_edit(session: Session, task: Task, *, actor: User) -> ItemsToEdit | None:
    """None when the task's items cannot change any more (it has started)."""
    if task.status not in ITEMS_EDITABLE or task.id is None:
        return None
    details = task_details(session, actor=actor, task_id=task.id)
    current = {i.item_id: f"{i.label} on {i.image}" if i.label else i.image
               for i in details.items}
    choices = {} if task.type == TaskType.label else {
        r["id"]: f"{r['label']} on {r['image']}" for r in item_choices(session, task.type,
                                                                        actor=actor)}
    return ItemsToEdit(current=current, choices={k: v for k, v in choices.items()
                                                 if k not in current})


class ItemsEditor:
    def __init__(self, task: Task, items: ItemsToEdit) -> None:
        self.kind = TaskType(task.type)
        self.items = items
        self.removed: set[int] = set()
        ui.label("Items").classes("text-subtitle1 font-medium")
        self.box = ui.row().classes("w-full gap-1").props("data-testid=edit-items")
        self._show()
        if self.kind == TaskType.label:
            ui.label("Add images").classes("text-caption text-grey-8")
            self.picker: SeriesPicker | None = SeriesPicker(testid="edit-add-series")
        else:
            self.picker = None
            self.add = ui.select(items.choices, multiple=True, with_input=True,
                                 label="Add items").props(
                "outlined dense use-chips options-dense data-testid=edit-add-items") \
                .classes("w-full")

    async def load(self) -> None:
        if self.picker is not None:
            await self.picker.search()

    def _show(self) -> None:
        self.box.clear()
        with self.box:
            for item_id, text in self.items.current.items():
                if item_id not in self.removed:
                    ui.chip(text, removable=True,
                            on_value_change=lambda _e, i=item_id: self._remove(i)) \
                        .props(f"dense square outline data-testid=edit-item-{item_id}")
            if self.removed:
                n = len(self.removed)
                ui.label(f"{n} item{'s' if n != 1 else ''} to remove").classes(
                    "text-caption text-negative self-center")

    def _remove(self, item_id: int) -> None:
        self.removed.add(item_id)
        self._show()

    def changes(self) -> ItemChanges | None:
        """What to send to `edits.edit_items`, or None when nothing changes."""
        added = self.picker.selected_ids() if self.picker is not None else list(self.add.value)
        if not added and not self.removed:
            return None
        column = {TaskType.label: "series_ids", TaskType.annotation: "label_assignment_ids",
                  TaskType.review: "annotation_ids"}[self.kind]
        return ItemChanges(add=TaskContent(**{column: added}), remove=sorted(self.removed))
