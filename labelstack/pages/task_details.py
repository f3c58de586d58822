"""/tasks/{id}: one task's items, annotations, reviews and history, with the ways to open it."""

from __future__ import annotations

from nicegui import run, ui

from labelstack.components.calls import try_call
from labelstack.components.detail_parts import fact, section, vars_of, when
from labelstack.components.frame import frame, not_found, signed_in_user
from labelstack.components.workflow import (
    LABEL_CELL,
    PRIORITY_COLORS,
    STATUS_COLORS,
    duration,
    empty_state,
)
from labelstack.db.enums import ReviewResult, Role, TaskType
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.errors import ServiceError
from labelstack.services.security import has_role
from labelstack.services.workflow import rework
from labelstack.services.workflow.task_details import TaskDetails, task_details

THUMBNAIL_CELL = """
    <q-td :props="props" style="width: 56px">
      <img v-if="props.row.series_uid" :src="'/viewer/render/' + props.row.series_uid"
           loading="lazy" data-testid="task-item-thumbnail"
           style="width: 48px; min-width: 48px; height: 48px; object-fit: contain; background: #000;
                  border-radius: 4px" />
    </q-td>"""
STATE_CELL = """
    <q-td :props="props">
      <q-badge :color="props.row.done ? 'positive' : 'grey-6'"
               :label="props.row.done ? 'done' : 'to do'" />
      <span v-if="props.row.status" class="q-ml-sm text-caption text-grey-8">
        {{ props.row.status.replace('_', ' ') }}</span>
    </q-td>"""
VIEW_CELL = """
    <q-td :props="props">
      <q-btn v-if="props.row.series_uid" flat dense no-caps icon="visibility" label="View"
             color="grey-8" :href="'/view/' + props.row.series_uid" type="a"
             :data-testid="'task-item-view-' + props.row.position" />
    </q-td>"""
RESULT_CELL = """
    <q-td :props="props">
      <q-badge v-if="props.value" :color="{accepted: 'positive', rejected: 'negative',
               corrected: 'orange-8'}[props.value]" :label="props.value" />
      <span v-else class="text-grey-6">not decided yet</span>
    </q-td>"""
ITEM_COLUMNS = [
    {"name": "thumbnail", "label": "", "field": "series_uid"},
    {"name": "image", "label": "Image", "field": "image", "align": "left"},
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "version", "label": "Version", "field": "version", "align": "right"},
    {"name": "state", "label": "State", "field": "done", "align": "left"},
    {"name": "view", "label": "", "field": "series_uid", "align": "right"},
]
ANNOTATION_COLUMNS = [
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "image", "label": "Image", "field": "image", "align": "left"},
    {"name": "version", "label": "Version", "field": "version", "align": "right"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "author", "label": "Author", "field": "author", "align": "left"},
]
REVIEW_COLUMNS = [
    {"name": "annotation", "label": "Annotation", "field": "annotation", "align": "left"},
    {"name": "reviewer", "label": "Reviewer", "field": "reviewer", "align": "left"},
    {"name": "result", "label": "Result", "field": "result", "align": "left"},
    {"name": "comment", "label": "Comment", "field": "comment", "align": "left",
     "style": "white-space: normal"},
]


@ui.page("/tasks/{task_id}")
async def task_details_page(task_id: str) -> None:
    actor = signed_in_user()
    if actor is None:
        return
    try:
        details = await run.io_bound(_load, actor, int(task_id))
    except (ValueError, ServiceError):
        not_found(user=actor, what="task")
        return
    with frame(details.task.name, user=actor):
        _show(details, admin=has_role(actor, Role.admin))


def _show(d: TaskDetails, *, admin: bool) -> None:
    task = d.task
    with ui.card().classes("w-full gap-3 p-5").props("flat bordered data-testid=task-details"):
        with ui.row().classes("w-full items-center gap-2"):
            ui.badge(task.status.replace("_", " "), color=STATUS_COLORS.get(task.status, "grey")) \
                .classes("px-2 py-1").props("data-testid=task-details-status")
            ui.chip(task.type, icon="category").props("dense square outline")
            color = PRIORITY_COLORS.get(task.priority, "grey")
            ui.chip(task.priority).props(f"dense square outline color={color}")
            ui.space()
            if task.type in (TaskType.annotation, TaskType.review):
                ui.button("Open in annotator", icon="brush").props(
                    f"unelevated no-caps href=/task/{task.id} type=a "
                    "data-testid=task-details-annotator")
            if d.series_uids:
                ui.button("Open in viewer", icon="visibility").props(
                    f"outline no-caps href=/view/{d.series_uids[0]} type=a "
                    "data-testid=task-details-viewer")
        if task.description:
            ui.label(task.description).classes("text-body1 text-grey-9")
        with ui.row().classes("gap-8 text-body2"):
            fact("Assignee", d.assignee or "nobody")
            fact("Created", f"{when(task.created_at)}" + (f" by {d.creator}" if d.creator else ""))
            fact("Due", task.due_date.isoformat() if task.due_date else "—")
            fact("Time spent", duration(task.time_spent))
    section("Items", f"{sum(i.done for i in d.items)} of {len(d.items)} done")
    hidden = {TaskType.label: ("label", "version"), TaskType.annotation: ("version",)}
    items = ui.table(columns=[c for c in ITEM_COLUMNS if c["name"] not in hidden.get(task.type, ())],
                     rows=[{**vars_of(i), "key": i.position} for i in d.items], row_key="key",
                     pagination=20).classes("w-full").props("flat bordered data-testid=task-items")
    for name, cell in (("thumbnail", THUMBNAIL_CELL), ("label", LABEL_CELL),
                       ("state", STATE_CELL), ("view", VIEW_CELL)):
        items.add_slot(f"body-cell-{name}", cell)
    empty_state(items, "This task holds no items")
    if task.type != TaskType.label:
        section("Annotations", "the versions made or reviewed in this task")
        annotations = ui.table(columns=ANNOTATION_COLUMNS,
                               rows=[vars_of(a) for a in d.annotations], row_key="id") \
            .classes("w-full").props("flat bordered data-testid=task-annotations")
        annotations.add_slot("body-cell-label", LABEL_CELL)
        empty_state(annotations, "No annotations yet: they are made when the task starts")
    if task.type == TaskType.review:
        with ui.row().classes("w-full items-center"):
            section("Reviews", "")
            ui.space()
            rejected = [r.annotation_id for r in d.reviews if r.result == ReviewResult.rejected]
            if admin and rejected:
                ui.button("Create rework task", icon="replay",
                          on_click=lambda: _rework(rejected)).props(
                    "outline no-caps data-testid=task-details-rework")
        reviews = ui.table(columns=REVIEW_COLUMNS, rows=[vars_of(r) for r in d.reviews],
                           row_key="id").classes("w-full") \
            .props("flat bordered data-testid=task-reviews")
        reviews.add_slot("body-cell-result", RESULT_CELL)
        empty_state(reviews, "No reviews yet: they are made when the task starts")
    section("History", "who did what, and when")
    with ui.card().classes("w-full p-0").props("flat bordered data-testid=task-history"), \
            ui.list().props("separator").classes("w-full"):
        for entry in reversed(d.history):
            with ui.item():
                with ui.item_section().props("side").classes("w-40"):
                    ui.label(when(entry.at)).classes("text-caption text-grey-7")
                with ui.item_section():
                    ui.label(entry.sentence).props("data-testid=task-history-entry")
        if not d.history:
            with ui.item():
                ui.label("Nothing recorded yet").classes("text-grey-7")
    ui.link("← All tasks" if admin else "← My tasks", "/tasks" if admin else "/my-tasks") \
        .classes("text-primary").props("data-testid=task-details-back")


async def _rework(annotation_ids: list[int]) -> None:
    """A new annotation task over the rejected work, opened at once."""
    task = await try_call(rework.rework_rejected, annotation_ids=annotation_ids,
                          roles=Role.admin)
    if task is not None:
        ui.navigate.to(f"/tasks/{task.id}")


def _load(actor: User, task_id: int) -> TaskDetails:
    with session_scope() as session:
        return task_details(session, actor=actor, task_id=task_id)
