"""The Images page's upload dialog: files and zips with progress, imported off the event loop.

Uploads are checked against LABELSTACK_MAX_UPLOAD_MB in the browser and again on arrival,
then written to a temporary folder and imported file by file, never held in memory whole.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import call
from labelstack.components.session import current_actor
from labelstack.components.workflow import Done, notify_detail
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services.errors import ServiceError
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images.sources import sources_from_upload


class UploadDialog:
    """Files (or zips) are sent with per-file progress, then imported off the event loop."""

    def __init__(self, *, on_done: Done) -> None:
        self.on_done = on_done
        with ui.dialog() as self.dialog, ui.card().classes("w-[36rem] gap-3"):
            ui.label("Upload DICOM").classes("text-h6")
            ui.label("DICOM files or zip archives; each file is checked before it is stored.") \
                .classes("text-grey-7")
            limit = image_runtime.current_settings().max_upload_mb * 2**20
            self.upload = ui.upload(multiple=True, auto_upload=True, label="Drop files here",
                                    max_total_size=limit, on_multi_upload=self.imported,
                                    on_rejected=self.rejected) \
                .props("accept='.dcm,.zip,application/dicom,application/zip,*' "
                       "data-testid=images-upload").classes("w-full")
            self.report = ui.column().classes("w-full gap-1").props("data-testid=images-report")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat")

    def open(self) -> None:
        self.report.clear()
        self.upload.reset()
        self.dialog.open()

    def rejected(self) -> None:
        """The browser refused files over the limit (the server checks again on arrival)."""
        ui.notify(f"Not uploaded: more than the {image_runtime.current_settings().max_upload_mb} MB "
                  "limit for one upload (LABELSTACK_MAX_UPLOAD_MB)", type="negative")

    async def imported(self, event: events.MultiUploadEventArguments) -> None:
        try:
            actor = await current_actor(Role.admin)
            image_import.check_upload_size(sum(f.size() for f in event.files))
        except ServiceError as exc:
            notify_detail(exc)
            return
        with tempfile.TemporaryDirectory(prefix="labelstack-upload-") as tmp:
            files = []
            for i, upload in enumerate(event.files):  # to disk, then imported file by file
                path = Path(tmp) / str(i)
                await upload.save(path)
                files.append((upload.name, path))
            notification = ui.notification(f"Importing {len(files)} file(s)…", spinner=True,
                                           timeout=None)
            report = await call(_import, files, actor=actor)
        counts = report.summary
        notification.message = (f"{counts['stored']} stored, {counts['present']} already "
                                f"present, {counts['conflict']} in conflict, "
                                f"{counts['rejected']} rejected")
        notification.type = "warning" if counts["rejected"] or counts["conflict"] else "positive"
        notification.spinner, notification.timeout = False, 4
        self.report.clear()
        with self.report:
            ui.label(notification.message).classes("text-subtitle2").props(
                "data-testid=images-report-summary")
            with ui.scroll_area().classes("w-full h-48 border rounded"):
                for item in report.items:
                    icon, color = {"stored": ("check_circle", "positive"),
                                   "present": ("task_alt", "grey-7"),
                                   "conflict": ("report", "warning")}.get(
                        item.status, ("error", "negative"))
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        ui.icon(icon, color=color)
                        ui.label(f"{item.name}: {item.reason or item.status}").classes(
                            "text-body2")
        await self.on_done()


def _import(session: Session, files: list[tuple[str, Path]], *,
            actor: User) -> image_import.ImportReport:
    with ExitStack() as opened:
        sources = (s for name, path in files
                   for s in sources_from_upload(name, opened.enter_context(path.open("rb"))))
        return image_import.import_dicom(session, actor=actor, sources=sources)
