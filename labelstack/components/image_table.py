"""The Images page's parts: its filters, its server-paged table of series with thumbnails,
and the dialog with a series' DICOM tags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import events, ui

from labelstack.components.calls import try_call
from labelstack.components.series_picker import patient_text
from labelstack.components.workflow import (
    Done,
    TableView,
    date_input,
    empty_state,
    keep_row_count,
    loading,
    notify_detail,
    show_page,
)
from labelstack.db.enums import Role
from labelstack.services.images import view as image_view
from labelstack.services.images.index import SeriesRow

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
THUMBNAIL_CELL = """
    <q-td :props="props" style="width: 72px">
      <img :src="props.value" data-testid="images-thumbnail" class="cursor-pointer"
           style="width: 64px; min-width: 64px; height: 64px; object-fit: contain; background: #000;
                  border-radius: 4px" />
    </q-td>"""
ACTIONS_CELL = """
    <q-td :props="props">
      <q-btn flat dense icon="visibility" color="grey-8" :href="'/view/' + props.row.series_uid"
             :data-testid="'images-view-' + props.row.series_uid" @click.stop>
        <q-tooltip>View</q-tooltip></q-btn>
      <q-btn flat dense icon="sell" color="grey-8"
             :data-testid="'images-tags-' + props.row.series_uid"
             @click.stop="$parent.$emit('tags', props.row.series_uid)">
        <q-tooltip>DICOM tags</q-tooltip></q-btn>
    </q-td>"""
SERIES_CELL = """
    <q-td :props="props">
      {{ props.value }}
      <q-badge v-if="props.row.incomplete" color="orange-8" label="incomplete" class="q-ml-sm"
               :data-testid="'images-incomplete-' + props.row.series_uid">
        <q-tooltip>An import of this series did not finish: instances may be missing.
          Import the series again to complete it.</q-tooltip></q-badge>
    </q-td>"""
MODALITIES = ["", "CT", "MR", "CR", "DX", "US", "MG", "XA", "OT"]
PAGE_SIZES = [10, 20, 50, 100]
BLANK = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
EMPTY = "No images yet — upload DICOM files or a zip"


class ImageFilters:
    """Patient, modality, description and a study date range, placed in the current row;
    Enter, clearing or a new choice calls `on_change`."""

    def __init__(self, *, on_change: Done) -> None:
        self.patient = ui.input(placeholder="Patient name or id").props(
            "outlined dense clearable data-testid=images-filter-patient").classes("w-56")
        self.modality = ui.select(MODALITIES, value="", label="Modality").props(
            "outlined dense options-dense data-testid=images-filter-modality").classes("w-32")
        self.description = ui.input(placeholder="Description").props(
            "outlined dense clearable data-testid=images-filter-description").classes("w-56")
        self.date_from = date_input("Study from", testid="images-filter-from").classes("w-40")
        self.date_to = date_input("Study to", testid="images-filter-to").classes("w-40")
        for box in (self.patient, self.description):
            box.on("keydown.enter", on_change)
            box.on("clear", on_change)
        for element in (self.modality, self.date_from, self.date_to):
            element.on_value_change(on_change)

    def values(self) -> dict:
        """The filters for the image search (a date that is none is left out)."""
        return {"patient": (self.patient.value or "").strip() or None,
                "modality": self.modality.value or None,
                "description": (self.description.value or "").strip() or None,
                "date_from": _date(self.date_from.value), "date_to": _date(self.date_to.value)}


class ImageTable:
    """Series with their thumbnail, a View and a DICOM-tags button, with the series count above;
    a row opens the image's details, ticked rows go to `on_select`; the browser's paging and
    sorting requests go to `on_request`; `total` shows the series count."""

    def __init__(self, view: TableView, *, total: ui.label,
                 on_request: Callable[[events.GenericEventArguments], Awaitable[None]],
                 on_select: Callable[[], object]) -> None:
        self.view = view
        self.total = total.props("data-testid=images-total")
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="series_uid",
                              selection="multiple", pagination=view.pagination,
                              on_select=lambda _e: on_select()) \
            .classes("w-full").props("flat bordered loading data-testid=images-table")
        self.table.classes("cursor-pointer")
        self.table.on("rowClick", lambda e: ui.navigate.to(f"/images/{e.args[1]['series_uid']}"),
                      [[], ["series_uid"], None])
        self.table.props["rows-per-page-options"] = PAGE_SIZES
        empty_state(self.table, EMPTY, icon="photo_library")
        self.table.add_slot("body-cell-thumbnail", THUMBNAIL_CELL)
        self.table.add_slot("body-cell-series", SERIES_CELL)
        self.table.add_slot("body-cell-actions", ACTIONS_CELL)
        self.table.on("request", on_request)
        keep_row_count(self.table, lambda: view.total)
        self.table.on("tags", lambda e: TagsDialog(e.args).open())

    def set_loading(self, busy: bool) -> None:
        loading(self.table, busy)

    @property
    def selected(self) -> list[dict]:
        return list(self.table.selected)

    def show(self, rows: list[dict], total: int, *, filtered: bool) -> None:
        empty_state(self.table, "No images match these filters" if filtered else EMPTY,
                    icon="photo_library")
        self.total.set_text(f"{total} series")
        show_page(self.table, self.view, rows, total)

    def without_thumbnail(self, known: dict[str, str]) -> list[dict]:
        return [row for row in self.table.rows if row["series_uid"] not in known]

    def set_thumbnails(self, rows: list[dict], images: dict[str, str]) -> None:
        for row in rows:
            row["thumbnail"] = images[row["series_uid"]]
        self.table.update()


class TagsDialog:
    """The tags of the series' first instance, filterable by tag, keyword or value; for
    `roles` (the Images page: admins; the viewers: anyone who may view the series)."""

    def __init__(self, series_uid: str, *, roles: Role | tuple[Role, ...] = Role.admin) -> None:
        self.series_uid = series_uid
        self.roles = roles
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
        meta = await try_call(image_view.metadata, series_uid=self.series_uid, roles=self.roles,
                              report=notify_detail)
        if meta is None:
            return
        self.table.rows = [{**t, "index": i, "keyword": "· " * int(t["depth"]) + t["keyword"]}
                           for i, t in enumerate(meta["tags"])]
        self.table.update()


def series_row(row: SeriesRow, thumbnail: str = BLANK) -> dict:
    """What the table shows of one series."""
    size = f"{row.columns}×{row.rows}" if row.rows else ""
    if row.number_of_instances > 1:
        frames = f"{row.number_of_instances} images"
    else:
        frames = f"{row.number_of_frames} frames" if row.number_of_frames > 1 else "1 image"
    return {"series_uid": row.series_uid, "id": row.id, "title": row.title, "thumbnail": thumbnail,
            "patient": patient_text(row), "study": row.study_description or "—",
            "study_date": row.study_date.isoformat() if row.study_date else "",
            "modality": row.modality, "series": row.series_description or
            f"Series {row.series_number or ''}".strip(), "size": f"{size} · {frames}",
            "store": row.store, "incomplete": row.incomplete}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
