"""/images: admins browse studies and series with thumbnails, upload DICOM, read the tags."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date

from nicegui import run, ui

from labelstack.components.dicom_upload import UploadDialog
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.session import current_actor
from labelstack.components.workflow import TableView, empty_state, keep_row_count, loading
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.errors import ServiceError
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images import view as image_view
from labelstack.services.images.index import SeriesRow, SyncReport

COLUMNS = [
    {"name": "thumbnail", "label": "", "field": "thumbnail", "align": "center"},
    {"name": "patient", "label": "Patient", "field": "patient", "sortable": True, "align": "left"},
    {"name": "study", "label": "Study", "field": "study", "align": "left"},
    {"name": "study_date", "label": "Date", "field": "study_date", "sortable": True,
     "align": "left"},
    {"name": "modality", "label": "Modality", "field": "modality", "sortable": True,
     "align": "left"},
    {"name": "series", "label": "Series", "field": "series", "align": "left"},
    {"name": "size", "label": "Size", "field": "size", "align": "left"},
    {"name": "store", "label": "Store", "field": "store", "align": "left"},
    {"name": "actions", "label": "", "field": "series_uid", "align": "right"},
]
MODALITIES = ["", "CT", "MR", "CR", "DX", "US", "MG", "XA", "OT"]
# table column → the search service's sort key (the only columns offered for sorting)
SORTS = {"study_date": "study_date", "patient": "patient", "modality": "modality"}
PAGE_SIZES = [10, 20, 50, 100]
THUMBNAIL_BATCH = 5  # thumbnails sent per table update
BLANK = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
EMPTY = "No images yet — upload DICOM files or a zip"


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
    view = View()
    with frame("Images", user=actor):
        with ui.row().classes("w-full items-center gap-2"):
            patient = ui.input(placeholder="Patient name or id").props(
                "outlined dense clearable data-testid=images-filter-patient").classes("w-56")
            modality = ui.select(MODALITIES, value="", label="Modality").props(
                "outlined dense options-dense data-testid=images-filter-modality").classes("w-32")
            description = ui.input(placeholder="Description").props(
                "outlined dense clearable data-testid=images-filter-description").classes("w-56")
            date_from = ui.input("From").props(
                "outlined dense type=date clearable data-testid=images-filter-from").classes("w-40")
            date_to = ui.input("To").props(
                "outlined dense type=date clearable data-testid=images-filter-to").classes("w-40")
            ui.space()
            if image_runtime.current_settings().dicomweb_url:
                ui.button("Sync from PACS", icon="sync", on_click=lambda: sync()).props(
                    "outline no-caps data-testid=images-sync")
            ui.button("Upload DICOM", icon="upload", on_click=lambda: upload_dialog.open()) \
                .props("unelevated no-caps data-testid=images-upload-open")
        total = ui.label().classes("text-caption text-grey-7").props("data-testid=images-total")
        table = ui.table(columns=COLUMNS, rows=[], row_key="series_uid",
                         pagination=view.pagination) \
            .classes("w-full").props("flat bordered loading data-testid=images-table")
        table.props["rows-per-page-options"] = PAGE_SIZES
        empty_state(table, EMPTY, icon="photo_library")
        table.add_slot("body-cell-thumbnail", """
            <q-td :props="props" style="width: 72px">
              <img :src="props.value" data-testid="images-thumbnail"
                   style="width: 64px; height: 64px; object-fit: contain; background: #000;
                          border-radius: 4px" />
            </q-td>""")
        table.add_slot("body-cell-actions", """
            <q-td :props="props">
              <q-btn flat dense icon="sell" color="grey-8"
                     :data-testid="'images-tags-' + props.row.series_uid"
                     @click="$parent.$emit('tags', props.row.series_uid)">
                <q-tooltip>DICOM tags</q-tooltip></q-btn>
            </q-td>""")
        upload_dialog = UploadDialog(on_done=lambda: after_upload())

    async def refresh() -> None:
        view.filters = {"patient": (patient.value or "").strip() or None,
                        "modality": modality.value or None,
                        "description": (description.value or "").strip() or None,
                        "date_from": _date(date_from.value), "date_to": _date(date_to.value)}
        view.shown += 1
        shown = view.shown
        loading(table, True)
        try:
            actor = await current_actor(Role.admin)
            page = await run.io_bound(_search, actor, view)
        except ServiceError as exc:
            loading(table, False)
            ui.notify(exc.detail, type="negative")
            return
        if shown != view.shown:
            return  # a newer request is on its way
        last = max(1, -(-page.total // view.page_size))
        if view.page > last:  # the rows shrank under this page (a filter, a sync): go back
            view.page = last
            await refresh()
            return
        empty_state(table, "No images match these filters" if any(view.filters.values())
                    else EMPTY, icon="photo_library")
        table.rows = [_row(r, view.thumbnails.get(r.series_uid, BLANK)) for r in page.items]
        view.total = page.total
        table.pagination = {**table.pagination, **view.pagination}
        total.set_text(f"{page.total} series")
        loading(table, False)
        table.update()
        await fill_thumbnails(actor, shown)

    async def fill_thumbnails(actor: User, shown: int) -> None:
        missing = [row for row in table.rows if row["series_uid"] not in view.thumbnails]
        for start in range(0, len(missing), THUMBNAIL_BATCH):
            batch = missing[start:start + THUMBNAIL_BATCH]
            images_ = await run.io_bound(_thumbnails, actor, [row["series_uid"] for row in batch])
            if shown != view.shown:
                return  # another page, sort or filter is showing now
            if len(view.thumbnails) > 1000:
                view.thumbnails.clear()
            view.thumbnails.update(images_)
            for row in batch:
                row["thumbnail"] = images_[row["series_uid"]]
            table.update()

    async def after_upload() -> None:
        view.thumbnails.clear()  # a series that grew gets a new middle image
        await refresh()

    async def first_page() -> None:
        view.page = 1
        await refresh()

    async def on_request(event) -> None:  # noqa: ANN001
        p = event.args["pagination"]
        view.page, view.page_size = p.get("page") or 1, p.get("rowsPerPage") or view.page_size
        sort_by = p.get("sortBy")
        view.sort_by = sort_by if sort_by in SORTS else "study_date"
        view.descending = bool(p.get("descending")) if sort_by in SORTS else True
        await refresh()

    async def sync() -> None:
        try:
            actor = await current_actor(Role.admin)
        except ServiceError as exc:
            ui.notify(exc.detail, type="negative")
            return
        notification = ui.notification("Syncing from the PACS…", spinner=True, timeout=None)
        try:
            report = await run.io_bound(_sync, actor)
            notification.message = (f"Synced: {report.series_updated} series updated, "
                                     f"{report.instances_added} instances added")
            notification.type = "positive"
        except ServiceError as exc:
            notification.message, notification.type = exc.detail, "negative"
        notification.spinner, notification.timeout = False, 5
        await refresh()

    for element in (patient, description):
        element.on("keydown.enter", first_page)
        element.on("clear", first_page)
    for element in (modality, date_from, date_to):
        element.on_value_change(first_page)
    table.on("request", on_request)
    keep_row_count(table, lambda: view.total)
    table.on("tags", lambda e: TagsDialog(e.args).open())
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await refresh()


class TagsDialog:
    """The tags of the series' first instance, filterable by tag, keyword or value."""

    def __init__(self, series_uid: str) -> None:
        self.series_uid = series_uid
        with ui.dialog() as self.dialog, ui.card().classes("w-[56rem] max-w-full gap-2") \
                .props("data-testid=series-tags-dialog"):
            ui.label("DICOM tags").classes("text-h6")
            ui.label(series_uid).classes("text-caption text-grey-7")
            search = ui.input(placeholder="Filter tags").props(
                "outlined dense clearable autofocus data-testid=series-tags-filter").classes("w-72")
            self.table = ui.table(columns=[
                {"name": "tag", "label": "Tag", "field": "tag", "align": "left"},
                {"name": "keyword", "label": "Keyword", "field": "keyword", "align": "left"},
                {"name": "vr", "label": "VR", "field": "vr", "align": "left"},
                {"name": "value", "label": "Value", "field": "value", "align": "left",
                 "style": "white-space: normal; word-break: break-all"},
            ], rows=[], row_key="index", pagination=0).classes("w-full h-[60vh]").props(
                "flat dense virtual-scroll data-testid=series-tags-table")
            search.bind_value_to(self.table, "filter")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat")

    def open(self) -> None:
        self.dialog.open()
        ui.timer(0, self.load, once=True)

    async def load(self) -> None:
        try:
            actor = await current_actor(Role.admin)
            meta = await run.io_bound(_metadata, actor, self.series_uid)
        except ServiceError as exc:
            ui.notify(exc.detail, type="negative")
            return
        self.table.rows = [{**t, "index": i, "keyword": "· " * int(t["depth"]) + t["keyword"]}
                           for i, t in enumerate(meta["tags"])]
        self.table.update()


def _row(row: SeriesRow, thumbnail: str = BLANK) -> dict:
    size = f"{row.columns}×{row.rows}" if row.rows else ""
    if row.number_of_instances > 1:
        frames = f"{row.number_of_instances} images"
    else:
        frames = f"{row.number_of_frames} frames" if row.number_of_frames > 1 else "1 image"
    return {"series_uid": row.series_uid, "thumbnail": thumbnail,
            "patient": f"{row.patient_name} ({row.patient_id})" if row.patient_id
            else row.patient_name, "study": row.study_description or "—",
            "study_date": row.study_date.isoformat() if row.study_date else "",
            "modality": row.modality, "series": row.series_description or
            f"Series {row.series_number or ''}".strip(), "size": f"{size} · {frames}",
            "store": row.store}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _search(actor: User, view: View):  # noqa: ANN202
    with session_scope() as session:
        return image_catalog.search(session, actor=actor, offset=(view.page - 1) * view.page_size,
                             limit=view.page_size, sort=view.sort, **view.filters)


def _thumbnails(actor: User, series_uids: list[str]) -> dict[str, str]:
    """uid → data URL; a series that cannot be displayed gets a blank square."""
    out = {}
    with session_scope() as session:
        for uid in series_uids:
            try:
                data = image_view.thumbnail(session, actor=actor, series_uid=uid)
            except ServiceError:
                out[uid] = BLANK
            else:
                out[uid] = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    return out


def _sync(actor: User) -> SyncReport:
    with session_scope() as session:
        return image_catalog.sync_from_dicomweb(session, actor=actor)


def _metadata(actor: User, series_uid: str) -> dict:
    with session_scope() as session:
        return image_view.metadata(session, actor=actor, series_uid=series_uid)
