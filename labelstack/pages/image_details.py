"""/images/{series_uid}: one image for admins: what it is, its labels and annotation versions,
the tasks it is in, the other series of its study, and the ways to open or use it."""

from __future__ import annotations

from nicegui import run, ui

from labelstack.components.calls import call
from labelstack.components.detail_parts import fact, section, vars_of
from labelstack.components.frame import frame, not_found, signed_in_user
from labelstack.components.image_table import TagsDialog, series_row
from labelstack.components.task_create import TaskDialog
from labelstack.components.workflow import (
    LABEL_CELL,
    STATUS_CELL,
    STATUS_COLORS,
    empty_state,
    error_text,
)
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.errors import ServiceError
from labelstack.services.images import removal
from labelstack.services.workflow.image_details import ImageDetails, image_details

ANNOTATION_COLUMNS = [
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "version", "label": "Version", "field": "version", "align": "right"},
    {"name": "status", "label": "State", "field": "status", "align": "left"},
    {"name": "author", "label": "Author", "field": "author", "align": "left"},
    {"name": "updated_at", "label": "Last change", "field": "updated_at", "align": "left"},
]
TASK_COLUMNS = [
    {"name": "name", "label": "Task", "field": "name", "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
]
TASK_LINK_CELL = """
    <q-td :props="props">
      <a :href="'/tasks/' + props.row.id" class="text-primary text-weight-medium"
         style="text-decoration: none" :data-testid="'image-task-' + props.row.id">
        {{ props.value }}</a>
    </q-td>"""
ANNOTATION_STATE_CELL = """
    <q-td :props="props">
      <q-badge :color="{accepted: 'positive', rejected: 'negative', submitted: 'blue-7',
               in_review: 'orange-8', corrected: 'orange-8'}[props.value] || 'grey-6'"
               :label="props.value.replace('_', ' ')" />
    </q-td>"""


@ui.page("/images/{series_uid}")
async def image_details_page(series_uid: str) -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    try:
        details = await run.io_bound(_load, actor, series_uid)
    except ServiceError:
        not_found(user=actor, what="image")
        return
    with frame(details.row.title, user=actor):
        _show(details)


def _show(d: ImageDetails) -> None:
    row = series_row(d.row)
    uid = d.row.series_uid
    with ui.card().classes("w-full p-5").props("flat bordered data-testid=image-details"), \
            ui.row().classes("w-full no-wrap gap-6"):
        ui.image(f"/viewer/render/{uid}").classes("w-48 h-48 rounded bg-black") \
            .props("fit=contain data-testid=image-details-thumbnail")
        with ui.column().classes("grow gap-3"):
            with ui.row().classes("gap-8 text-body2"):
                fact("Patient", row["patient"])
                fact("Study", " · ".join(p for p in (d.row.study_description, row["study_date"])
                                         if p) or "—")
                fact("Modality", row["modality"])
                fact("Series", row["series"])
                fact("Size", row["size"])
                fact("Store", row["store"])
            ui.label(uid).classes("text-caption text-grey-7")
            with ui.row().classes("gap-2"):
                ui.button("Open in viewer", icon="visibility").props(
                    f"unelevated no-caps href=/view/{uid} type=a data-testid=image-details-viewer")
                ui.button("DICOM tags", icon="sell",
                          on_click=lambda: TagsDialog(uid).open()).props(
                    "outline no-caps data-testid=image-details-tags")
                ui.button("Create a task", icon="add_task",
                          on_click=lambda: TaskDialog(on_saved=_nothing, images=[row]).open()) \
                    .props("outline no-caps data-testid=image-details-new-task")
                ui.space()
                delete = ui.button("Delete image", icon="delete", color="negative",
                                   on_click=lambda: _confirm_delete(d)).props(
                    "flat no-caps data-testid=image-details-delete")
            if d.removal_blocker:
                delete.disable()
                ui.label(f"Cannot be deleted: {d.removal_blocker}").classes(
                    "text-caption text-grey-7").props("data-testid=image-details-delete-why")
    section("Labels", "assigned to this image")
    with ui.row().classes("gap-2").props("data-testid=image-labels"):
        for label in d.labels:
            versions = f"{label.versions} version{'s' if label.versions != 1 else ''}"
            ui.chip(f"{label.label} · {versions}" + (" · archived" if label.archived else "")) \
                .props("square outline color=grey-9 data-testid=image-label") \
                .style(f"border-left: 4px solid {label.color}")
        if not d.labels:
            ui.label("No labels yet — assign some on the Labels page").classes("text-grey-7")
    section("Annotations", "every version of every label, newest state")
    annotations = ui.table(columns=ANNOTATION_COLUMNS, rows=[vars_of(a) for a in d.annotations],
                           row_key="id", pagination=20) \
        .classes("w-full").props("flat bordered data-testid=image-annotations")
    annotations.add_slot("body-cell-label", LABEL_CELL)
    annotations.add_slot("body-cell-status", ANNOTATION_STATE_CELL)
    empty_state(annotations, "No annotations on this image yet")
    section("Tasks", "that hold this image, one of its labels or annotations")
    tasks = ui.table(columns=TASK_COLUMNS, rows=[
        {**vars_of(t), "status_color": STATUS_COLORS.get(t.status, "grey")} for t in d.tasks],
        row_key="id").classes("w-full").props("flat bordered data-testid=image-tasks")
    tasks.add_slot("body-cell-name", TASK_LINK_CELL)
    tasks.add_slot("body-cell-status", STATUS_CELL)
    empty_state(tasks, "This image is in no task yet")
    section("This study", f"{len(d.study)} series")
    with ui.list().props("bordered separator dense").classes("w-full bg-white rounded") \
            .props("data-testid=image-study"):
        for sibling in d.study:
            with ui.item(on_click=lambda s=sibling: ui.navigate.to(f"/images/{s.series_uid}")) \
                    .props("clickable" if sibling.series_uid != uid else "active"):
                with ui.item_section().props("avatar"):
                    ui.badge(sibling.modality or "?").props("color=blue-grey-6")
                with ui.item_section():
                    ui.label(sibling.description)
                with ui.item_section().props("side"):
                    ui.label(f"{sibling.images} image{'s' if sibling.images != 1 else ''}")
    ui.link("← All images", "/images").classes("text-primary").props(
        "data-testid=image-details-back")


def _confirm_delete(d: ImageDetails) -> None:
    """Say what a delete does (and what it cannot undo on a PACS) before doing it."""
    with ui.dialog() as dialog, ui.card().classes("w-[30rem] gap-3") \
            .props("data-testid=image-delete-dialog"):
        ui.label(f"Delete “{d.row.title}”?").classes("text-h6")
        ui.label("It leaves the index and its files are removed from the store; this cannot be "
                 "undone." if d.row.store == "local" else
                 "It leaves the index. The PACS keeps its copy: the next full sync brings it "
                 "back.").classes("text-grey-8")
        error = ui.label().classes("text-negative").props("data-testid=image-delete-error")

        async def delete() -> None:
            try:
                await call(removal.delete_series, series_uid=d.row.series_uid, roles=Role.admin)
            except ServiceError as exc:
                error.set_text(error_text(exc))
                return
            ui.notify(f"“{d.row.title}” deleted", type="positive")
            dialog.close()
            ui.navigate.to("/images")

        with ui.row().classes("w-full justify-end"):
            ui.button("Keep it", on_click=dialog.close).props("flat no-caps")
            ui.button("Delete", color="negative", on_click=delete).props(
                "unelevated no-caps data-testid=image-delete-confirm")
    dialog.on("hide", dialog.delete)
    dialog.open()


async def _nothing() -> None:
    """Nothing on this page changes when a task is created from it."""


def _load(actor: User, series_uid: str) -> ImageDetails:
    with session_scope() as session:
        return image_details(session, actor=actor, series_uid=series_uid)
