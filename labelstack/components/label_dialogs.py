"""The Labels page's dialogs: a label's fields, assigning it to many images, deleting it."""

from __future__ import annotations

from functools import partial

from nicegui import ui
from pydantic import ValidationError
from sqlmodel import Session

from labelstack.components.calls import call, save_form, try_call
from labelstack.components.field_errors import FieldErrors
from labelstack.components.series_picker import SeriesPicker
from labelstack.components.workflow import Done, error_text
from labelstack.db.enums import Role
from labelstack.db.models import Label, User
from labelstack.services.errors import Conflict, ServiceError
from labelstack.services.labels import catalog as labels
from labelstack.services.labels.catalog import AssignmentCreate, LabelCreate, LabelUpdate


class LabelDialog:
    """Create a label (`label=None`) or edit one."""

    def __init__(self, label: Label | None, *, on_saved: Done) -> None:
        self.label, self.on_saved = label, on_saved
        with ui.dialog() as self.dialog, ui.card().classes("w-[28rem] gap-3") \
                .props("data-testid=label-dialog"):
            ui.label("Edit label" if label else "New label").classes("text-h6")
            self.name = ui.input("Name", value=label.name if label else "").props(
                "outlined autofocus data-testid=label-name").classes("w-full")
            self.color = ui.color_input("Colour", value=label.color if label else "#e11d48") \
                .props("outlined data-testid=label-color").classes("w-full")
            self.description = ui.textarea("Description",
                                           value=label.description if label else "") \
                .props("outlined autogrow data-testid=label-description").classes("w-full")
            if label is not None:
                self.archived = ui.switch("Archived (hidden from new work)",
                                          value=label.archived).props("data-testid=label-archived")
            self.error = ui.label().classes("text-negative").props("data-testid=label-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Save", on_click=self.save).props(
                    "unelevated no-caps data-testid=label-save")
        self.errors = FieldErrors({"name": (self.name, "name"), "color": (self.color, "colour"),
                                   "description": (self.description, "description")},
                                  line=self.error)

    async def open(self) -> None:
        self.dialog.on("hide", self.dialog.delete)  # one use: gone once closed
        self.dialog.open()

    async def save(self) -> None:
        label_id = self.label.id if self.label else None

        def data() -> LabelCreate | LabelUpdate:
            fields = {"name": self.name.value or "", "color": self.color.value or "",
                      "description": self.description.value or ""}
            if label_id is None:
                return LabelCreate(**fields)
            return LabelUpdate(**fields, archived=self.archived.value)

        ok, checked = self.errors.check(data)
        if ok:
            await save_form(self, lambda: checked, partial(_save_label, label_id=label_id),
                            roles=Role.admin)


class AssignDialog:
    """Assign one label to many images at once; reports new vs already assigned."""

    def __init__(self, label: Label | None, *, on_done: Done) -> None:
        self.on_done = on_done
        options = {label.id: label.name} if label else {}  # all of them once it opens
        with ui.dialog() as self.dialog, ui.card().classes("w-[56rem] max-w-full gap-3") \
                .props("data-testid=assign-dialog"):
            ui.label("Assign a label to images").classes("text-h6")
            self.label = ui.select(options, label="Label", value=label.id if label else None) \
                .props("outlined dense data-testid=assign-label").classes("w-72")
            self.picker = SeriesPicker(testid="assign-series")
            self.report = ui.label().props("data-testid=assign-report")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Assign", icon="done", on_click=self.assign).props(
                    "unelevated no-caps data-testid=assign-save")

    async def open(self) -> None:
        self.dialog.on("hide", self.dialog.delete)  # one use: gone once closed
        self.dialog.open()
        options = await try_call(_label_options, roles=Role.admin)
        if options is None:
            return
        self.label.set_options(options, value=self.label.value if self.label.value in options
                               else None)
        await self.picker.search()

    async def assign(self) -> None:
        self.report.classes(remove="text-negative text-positive")
        try:
            data = AssignmentCreate(label_id=self.label.value or 0,
                                    series_ids=self.picker.selected_ids())
            result = await call(labels.assign_label, data=data, roles=Role.admin)
        except ValidationError:
            self.report.classes("text-negative").set_text("Choose a label and at least one image.")
            return
        except ServiceError as exc:
            self.report.classes("text-negative").set_text(error_text(exc))
            return
        new, old = len(result.created), len(result.existing)
        self.report.classes("text-positive").set_text(
            f"{new} new assignment{'s' if new != 1 else ''}, {old} already assigned.")
        await self.on_done()


class DeleteDialog:
    """Says first what a delete will do, or why it cannot be done (then offers archiving)."""

    def __init__(self, label: Label, *, on_done: Done) -> None:
        self.label, self.on_done = label, on_done
        with ui.dialog() as self.dialog, ui.card().classes("w-[28rem] gap-3") \
                .props("data-testid=label-delete-dialog"):
            self.title = ui.label(f"Delete label “{label.name}”?").classes("text-h6")
            self.explain = ui.label("Checking what uses it…").classes("text-grey-8") \
                .props("data-testid=label-delete-explain")
            self.error = ui.label().classes("text-negative").props("data-testid=label-delete-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                self.archive = ui.button("Archive instead", on_click=self.do_archive).props(
                    "outline no-caps data-testid=label-archive")
                self.archive.set_visibility(False)
                self.confirm = ui.button("Delete", color="negative", on_click=self.delete).props(
                    "unelevated no-caps data-testid=label-delete-confirm")
                self.confirm.disable()

    async def open(self) -> None:
        self.dialog.on("hide", self.dialog.delete)  # one use: gone once closed
        self.dialog.open()
        try:
            blocker = await call(labels.deletion_blocker, label_id=self.label.id, roles=Role.admin)
        except ServiceError as exc:
            self.explain.set_text(error_text(exc))
            return
        if blocker is None:
            self.explain.set_text("Nothing uses it yet: the label and its assignments to "
                                  "images are removed.")
            self.confirm.enable()
            return
        self.title.set_text(f"“{self.label.name}” cannot be deleted")
        self.explain.set_text(blocker if not self.label.archived
                              else blocker.split(":")[0] + "; it is archived already.")
        self.confirm.set_visibility(False)
        self.archive.set_visibility(not self.label.archived)

    async def delete(self) -> None:
        try:
            await call(labels.delete_label, label_id=self.label.id, roles=Role.admin)
        except ServiceError as exc:
            self.error.set_text(f"Cannot delete: {error_text(exc)}")
            self.archive.set_visibility(isinstance(exc, Conflict) and not self.label.archived)
            return
        ui.notify(f"Label {self.label.name} deleted", type="positive")
        self.dialog.close()
        await self.on_done()

    async def do_archive(self) -> None:
        try:
            await call(_save_label, LabelUpdate(archived=True), label_id=self.label.id,
                       roles=Role.admin)
        except ServiceError as exc:
            self.error.set_text(error_text(exc))
            return
        ui.notify(f"Label {self.label.name} archived", type="positive")
        self.dialog.close()
        await self.on_done()


def _label_options(session: Session, *, actor: User) -> dict[int, str]:
    return {lb.id: lb.name for lb in labels.list_labels(session)}


def _save_label(session: Session, data: LabelCreate | LabelUpdate, *, actor: User,
                label_id: int | None) -> str:
    if label_id is None:
        labels.create_label(session, actor=actor, data=data)
    else:
        labels.update_label(session, actor=actor, label_id=label_id, data=data)
    return "Label saved"
