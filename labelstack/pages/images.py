"""/images: admins browse studies and series with thumbnails, upload DICOM, read the tags."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import call, try_call
from labelstack.components.dicom_upload import UploadDialog
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.image_table import BLANK, ImageFilters, ImageTable, series_row
from labelstack.components.study_list import PAGE_SIZE as STUDY_PAGE
from labelstack.components.study_list import StudyList
from labelstack.components.task_create import TaskDialog
from labelstack.components.workflow import TableView, notify_detail
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services.errors import ServiceError
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images import studies
from labelstack.services.images import view as image_view
from labelstack.services.images.index import SeriesPage
from labelstack.services.images.studies import StudyRow

# table column → the search service's sort key (the only columns offered for sorting)
SORTS = {"study_date": "study_date", "patient": "patient", "modality": "modality"}
THUMBNAIL_BATCH = 5  # thumbnails sent per table update
SERIES, STUDIES = "series", "studies"  # the two ways to browse


@dataclass(kw_only=True, slots=True)
class View(TableView):
    """The table's state plus thumbnails; `shown` counts loads, so a slow thumbnail pass
    for a page the user already left stops."""

    sort_by: str = "study_date"
    shown: int = 0
    thumbnails: dict[str, str] = field(default_factory=dict)

    @property
    def sort(self) -> str:
        return ("-" if self.descending else "") + SORTS.get(self.sort_by, "study_date")


@ui.page("/images")
async def images_page() -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    with frame("Images", user=actor):
        page = ImagesPage()
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await page.refresh()


class ImagesPage:
    """The filter bar with the sync and upload buttons, and the table; what their events do."""

    def __init__(self) -> None:
        self.view = View()
        self.upload: UploadDialog
        with ui.row().classes("w-full items-center gap-2"):
            self.filters = ImageFilters(on_change=self.first_page)
        with ui.row().classes("w-full items-center gap-2"):
            self.mode = ui.toggle({SERIES: "Series", STUDIES: "By study"}, value=SERIES,
                                  on_change=self.first_page).props(
                "dense no-caps unelevated toggle-color=primary data-testid=images-view-mode")
            total = ui.label().classes("text-caption text-grey-7")
            ui.space()
            self.new_task = ui.button("Create task from selected", icon="add_task",
                                      on_click=self.task_from_selected).props(
                "outline no-caps data-testid=images-new-task")
            self.new_task.disable()
            if image_runtime.current_settings().dicomweb_url:
                ui.button("Sync from PACS", icon="sync", on_click=self.sync).props(
                    "outline no-caps data-testid=images-sync")
            ui.button("Upload DICOM", icon="upload", on_click=lambda: self.upload.open()) \
                .props("unelevated no-caps data-testid=images-upload-open")
        self.table = ImageTable(self.view, total=total, on_request=self.on_request,
                                on_select=self.selected)
        self.studies = StudyList(on_page=self.study_page)
        self.studies.set_visibility(False)
        self.upload = UploadDialog(on_done=self.after_upload)

    async def refresh(self) -> None:
        view = self.view
        view.filters = self.filters.values()
        view.shown += 1
        shown = view.shown
        by_study = self.mode.value == STUDIES
        self.table.table.set_visibility(not by_study)
        self.studies.set_visibility(by_study)
        self.new_task.set_visibility(not by_study)
        if by_study:
            await self.show_studies(shown)
            return
        self.table.set_loading(True)
        page = await try_call(_search, view, roles=Role.admin, report=self.refused)
        if page is None or shown != view.shown:
            return  # refused, or a newer request is on its way
        last = max(1, -(-page.total // view.page_size))
        if view.page > last:  # the rows shrank under this page (a filter, a sync): go back
            view.page = last
            await self.refresh()
            return
        self.table.show([series_row(r, view.thumbnails.get(r.series_uid, BLANK))
                         for r in page.items], page.total,
                        filtered=any(view.filters.values()))
        await self.fill_thumbnails(shown)

    async def show_studies(self, shown: int) -> None:
        found = await try_call(_studies, self.view, roles=Role.admin, report=self.refused)
        if found is None or shown != self.view.shown:
            return
        studies, total = found
        self.table.total.set_text(f"{total} stud{'ies' if total != 1 else 'y'}")
        self.studies.show(studies, total, page=self.view.page)

    async def study_page(self, page: int) -> None:
        if page != self.view.page:
            self.view.page = page
            await self.refresh()

    async def fill_thumbnails(self, shown: int) -> None:
        view = self.view
        missing = self.table.without_thumbnail(view.thumbnails)
        for start in range(0, len(missing), THUMBNAIL_BATCH):
            batch = missing[start:start + THUMBNAIL_BATCH]
            images = await try_call(_thumbnails, [row["series_uid"] for row in batch],
                                    roles=Role.admin, report=lambda _exc: None)
            if images is None or shown != view.shown:
                return  # signed out, or another page, sort or filter is showing now
            if len(view.thumbnails) > 1000:
                view.thumbnails.clear()
            view.thumbnails.update(images)
            self.table.set_thumbnails(batch, images)

    def selected(self) -> None:
        n = len(self.table.selected)
        self.new_task.set_enabled(n > 0)
        self.new_task.set_text(f"Create task from {n} selected" if n
                               else "Create task from selected")

    async def task_from_selected(self) -> None:
        """The New-task dialog with the ticked images as a label task's images."""
        await TaskDialog(on_saved=self.after_task, images=self.table.selected).open()

    async def after_task(self) -> None:
        self.table.table.selected = []
        self.selected()

    def refused(self, exc: ServiceError) -> None:
        self.table.set_loading(False)
        notify_detail(exc)

    async def after_upload(self) -> None:
        self.view.thumbnails.clear()  # a series that grew gets a new middle image
        await self.refresh()

    async def first_page(self) -> None:
        self.view.page = 1
        await self.refresh()

    async def on_request(self, event: events.GenericEventArguments) -> None:
        view, p = self.view, event.args["pagination"]
        view.page, view.page_size = p.get("page") or 1, p.get("rowsPerPage") or view.page_size
        sort_by = p.get("sortBy")
        view.sort_by = sort_by if sort_by in SORTS else "study_date"
        view.descending = bool(p.get("descending")) if sort_by in SORTS else True
        await self.refresh()

    async def sync(self) -> None:
        notification = ui.notification("Syncing from the PACS…", spinner=True, timeout=None)
        try:
            report = await call(image_catalog.sync_from_dicomweb, roles=Role.admin)
            notification.message = (f"Synced: {report.series_updated} series updated, "
                                    f"{report.instances_added} instances added")
            notification.type = "positive"
        except ServiceError as exc:
            notification.message, notification.type = exc.detail, "negative"
        notification.spinner, notification.timeout = False, 5
        await self.refresh()


def _search(session: Session, view: View, *, actor: User) -> SeriesPage:
    return image_catalog.search(session, actor=actor, offset=(view.page - 1) * view.page_size,
                                limit=view.page_size, sort=view.sort, **view.filters)


def _studies(session: Session, view: View, *, actor: User) -> tuple[list[StudyRow], int]:
    return studies.list_studies(session, actor=actor, offset=(view.page - 1) * STUDY_PAGE,
                                limit=STUDY_PAGE, **view.filters)


def _thumbnails(session: Session, series_uids: list[str], *, actor: User) -> dict[str, str]:
    """uid → data URL; a series that cannot be displayed gets a blank square."""
    out = {}
    for uid in series_uids:
        try:
            data = image_view.thumbnail(session, actor=actor, series_uid=uid)
        except ServiceError:
            out[uid] = BLANK
        else:
            out[uid] = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    return out
