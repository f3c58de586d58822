"""Choosing many images (series) at once: search the index, tick rows, across searches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import events, ui

from labelstack.components.calls import try_call
from labelstack.components.workflow import empty_state
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images.index import SeriesRow

COLUMNS = [
    {"name": "modality", "label": "Modality", "field": "modality", "align": "left"},
    {"name": "patient", "label": "Patient", "field": "patient", "align": "left"},
    {"name": "description", "label": "Series", "field": "description", "align": "left"},
    {"name": "study_date", "label": "Study date", "field": "study_date", "align": "left"},
    {"name": "size", "label": "Size", "field": "size", "align": "left"},
]
MODALITIES = ["", "CT", "MR", "CR", "DX", "US"]
PAGE = 100
PICKER_PAGE = {"rowsPerPage": 25}
PICKER_PAGE_SIZES = [10, 25, 50, 100]
MAX_CHIPS = 30


class SeriesPicker:
    """A searchable, multi-select list of series; `selected_ids()` gives their ids."""

    def __init__(self, *, testid: str = "series-picker") -> None:
        self.chosen: dict[str, dict] = {}
        with ui.column().classes("w-full gap-2"):
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.patient = ui.input(placeholder="Patient name or id").props(
                    f"outlined dense clearable data-testid={testid}-patient").classes("grow")
                self.description = ui.input(placeholder="Description").props(
                    "outlined dense clearable").classes("grow")
                self.modality = ui.select(MODALITIES, value="", label="Modality").props(
                    "outlined dense options-dense").classes("w-28")
                ui.button(icon="search", on_click=self.search).props("flat dense")
            for field in (self.patient, self.description):
                field.on("keydown.enter", self.search)
                field.on("clear", self.search)
            self.modality.on_value_change(self.search)
            self.table = ui.table(columns=COLUMNS, rows=[], row_key="uid", selection="multiple",
                                  pagination=PICKER_PAGE, on_select=self._on_select) \
                .classes("w-full").props(f"flat bordered dense data-testid={testid}")
            self.table.props["rows-per-page-options"] = PICKER_PAGE_SIZES
            empty_state(self.table, "No images match — import some on the Images page",
                        icon="photo_library")
            self.count = ui.label("No image selected").classes("text-caption text-grey-7") \
                .props(f"data-testid={testid}-count")
            self.list = ChosenList(testid=f"{testid}-chosen", on_remove=self.unchoose)

    async def search(self) -> None:
        page = await try_call(image_catalog.search, patient=self.patient.value or None,
                              description=self.description.value or None,
                              modality=self.modality.value or None, limit=PAGE)
        if page is None:
            return
        self.table.rows = [_row(s) for s in page.items]
        self.table.selected = [r for r in self.table.rows if r["uid"] in self.chosen]
        self.table.update()

    def _on_select(self, _event: events.TableSelectionEventArguments) -> None:
        visible = {r["uid"] for r in self.table.rows}
        self.chosen = {uid: r for uid, r in self.chosen.items() if uid not in visible}
        self.chosen.update({r["uid"]: r for r in self.table.selected})
        self._show_chosen()

    def choose(self, rows: list[dict]) -> None:
        """Start with these images chosen: rows of the Images page (`series_uid`, `id`,
        `title`)."""
        self.chosen.update({r["series_uid"]: {"uid": r["series_uid"], "id": r["id"],
                                              "title": r["title"]} for r in rows})
        self.table.selected = [r for r in self.table.rows if r["uid"] in self.chosen]
        self._show_chosen()

    def unchoose(self, uid: object) -> None:
        self.chosen.pop(str(uid), None)
        self.table.selected = [r for r in self.table.rows if r["uid"] in self.chosen]
        self.table.update()
        self._show_chosen()

    def _show_chosen(self) -> None:
        n = len(self.chosen)
        self.count.set_text(f"{n} image{'s' if n != 1 else ''} selected" if n
                            else "No image selected")
        self.list.show({uid: r["title"] for uid, r in self.chosen.items()})

    def selected_ids(self) -> list[int]:
        return [row["id"] for row in self.chosen.values()]


class ChosenList:
    """What a picker has chosen, as removable chips under it, so a choice on another page of
    the table stays in sight."""

    def __init__(self, *, testid: str, on_remove: Callable[[object], None]) -> None:
        self.on_remove = on_remove
        self.box = ui.row().classes("w-full items-center gap-1").props(f"data-testid={testid}")

    def show(self, chosen: dict[Any, str]) -> None:
        self.box.clear()
        if not chosen:
            return
        with self.box:
            ui.label(f"Selected ({len(chosen)}):").classes("text-caption text-grey-8 mr-1")
            for key, text in list(chosen.items())[:MAX_CHIPS]:
                ui.chip(text, removable=True, on_value_change=lambda _e, k=key: self.on_remove(k)) \
                    .props("dense square outline color=primary data-testid=chosen-chip")
            if len(chosen) > MAX_CHIPS:
                ui.label(f"and {len(chosen) - MAX_CHIPS} more").classes("text-caption text-grey-7")


def _row(s: SeriesRow) -> dict:
    frames = s.number_of_frames or s.number_of_instances
    size = f"{s.columns}×{s.rows}" + (f"×{frames}" if frames > 1 else "") if s.rows else ""
    return {"uid": s.series_uid, "id": s.id, "modality": s.modality,
            "patient": patient_text(s),
            "description": s.series_description or s.study_description or "—",
            "study_date": s.study_date.isoformat() if s.study_date else "",
            "size": size, "title": s.title}


def patient_text(s: SeriesRow) -> str:
    """A DICOM person name as people write it ("Phantom^DEMO-CT-01" → "Phantom DEMO-CT-01"),
    with the patient id when the name does not already hold it: every image list shows this."""
    name = " ".join(part for part in s.patient_name.split("^") if part)
    if not name:
        return s.patient_id
    return name if not s.patient_id or s.patient_id in name else f"{name} ({s.patient_id})"
