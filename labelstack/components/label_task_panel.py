"""The annotator's side of an in-progress label task: add and remove labels on its images."""

from __future__ import annotations

from nicegui import events, ui
from pydantic import ValidationError
from sqlmodel import Session

from labelstack.components.calls import call
from labelstack.components.workflow import Done, empty_state, error_text
from labelstack.db.models import Task, User
from labelstack.services.errors import ServiceError
from labelstack.services.images.index import series_titles
from labelstack.services.labels import catalog as labels
from labelstack.services.labels import in_tasks as task_labels
from labelstack.services.labels.in_tasks import TaskLabelAdd
from labelstack.services.tasks import records as tasks
from labelstack.services.tasks.queries import TaskRow

ALL = 0
COLUMNS = [
    {"name": "image", "label": "Image", "field": "image", "align": "left"},
    {"name": "labels", "label": "Labels", "field": "labels", "align": "left",
     "style": "white-space: normal"},
]
LABELS_CELL = """
    <q-td :props="props">
      <span v-if="!props.value.length" class="text-grey-6">no labels yet</span>
      <q-chip v-for="a in props.value" :key="a.id" dense square :removable="!a.locked"
              :style="{borderLeft: '4px solid ' + a.color}" :data-testid="'task-label-chip-' + a.id"
              @remove="$parent.$emit('remove', a.id)">{{ a.name }}
        <q-icon v-if="a.locked" name="lock" size="14px" class="q-ml-xs text-grey-6"
                :data-testid="'task-label-locked-' + a.id" />
        <q-tooltip v-if="a.locked">Cannot be removed: {{ a.locked }}</q-tooltip></q-chip>
    </q-td>"""


async def label_task_panel(task: Task | TaskRow, *, on_change: Done) -> None:
    """Images of the task with their labels; add a label to one or all, remove one (as the
    user acting then)."""
    images, rows, options = await call(_load, task)
    with ui.card().classes("w-full gap-2 p-4").props(
            f"flat bordered data-testid=label-task-{task.id}"):
        ui.label(f"Labels: {task.name}").classes("text-subtitle1 font-medium")
        with ui.row().classes("w-full items-center gap-2"):
            label = ui.select(options, label="Label").props(
                "outlined dense options-dense data-testid=task-label-select").classes("w-56")
            image = ui.select({ALL: "All images of the task", **images}, value=ALL,
                              label="Image").props(
                "outlined dense options-dense data-testid=task-label-image").classes("w-96")
            ui.button("Add label", icon="add", on_click=lambda: add()).props(
                "unelevated no-caps data-testid=task-label-add")
        error = ui.label().classes("text-negative").props("data-testid=task-label-error")
        error.bind_visibility_from(error, "text")
        table = ui.table(columns=COLUMNS, rows=rows, row_key="id").classes("w-full") \
            .props("flat dense")
        table.add_slot("body-cell-labels", LABELS_CELL)
        empty_state(table, "This task holds no images")

    async def add() -> None:
        try:
            data = TaskLabelAdd(label_id=label.value or 0,
                                series_ids=[image.value] if image.value else None)
            result = await call(task_labels.add_task_label, task_id=task.id, data=data)
        except (ValidationError, ServiceError) as exc:
            error.set_text(error_text(exc))
            return
        ui.notify(f"{len(result.created)} added, {len(result.existing)} already there",
                  type="positive")
        await on_change()

    async def remove(event: events.GenericEventArguments) -> None:
        try:
            await call(task_labels.remove_task_label, task_id=task.id,
                       assignment_id=int(event.args))
        except ServiceError as exc:
            error.set_text(error_text(exc))
            return
        await on_change()

    table.on("remove", remove)


def _load(session: Session, task: Task | TaskRow, *,
          actor: User) -> tuple[dict[int, str], list[dict], dict[int, str]]:
    series_ids = [i.series_id for i in tasks.list_items(session, actor=actor, task_id=task.id)
                  if i.series_id]
    titles = series_titles(session, series_ids)
    assigned = labels.list_assignments(session, actor=actor, task_id=task.id)
    catalogue = {lb.id: lb for lb in labels.list_labels(session, include_archived=True)}
    locked = labels.removal_blockers(session, [a.id for a in assigned if a.id])
    rows = [{"id": sid, "image": titles.get(sid, f"image {sid}"),
             "labels": [{"id": a.id, "name": catalogue[a.label_id].name,
                         "color": catalogue[a.label_id].color, "locked": locked.get(a.id, "")}
                        for a in assigned if a.series_id == sid]}
            for sid in series_ids]
    options = {lb.id: lb.name for lb in catalogue.values() if not lb.archived}
    return {sid: titles.get(sid, f"image {sid}") for sid in series_ids}, rows, options
