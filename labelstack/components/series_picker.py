"""Choosing many images (series) at once: search the index, tick rows, across searches."""

from __future__ import annotations

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
                                  pagination=8, on_select=self._on_select) \
                .classes("w-full").props(f"flat bordered dense data-testid={testid}")
            empty_state(self.table, "No images match — import some on the Images page",
                        icon="photo_library")
            self.count = ui.label("No image selected").classes("text-caption text-grey-7") \
                .props(f"data-testid={testid}-count")

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
        n = len(self.chosen)
        self.count.set_text(f"{n} image{'s' if n != 1 else ''} selected" if n
                            else "No image selected")

    def selected_ids(self) -> list[int]:
        return [row["id"] for row in self.chosen.values()]


def _row(s: SeriesRow) -> dict:
    frames = s.number_of_frames or s.number_of_instances
    size = f"{s.columns}×{s.rows}" + (f"×{frames}" if frames > 1 else "") if s.rows else ""
    return {"uid": s.series_uid, "id": s.id, "modality": s.modality,
            "patient": (s.patient_name or s.patient_id).replace("^", " "),
            "description": s.series_description or s.study_description or "—",
            "study_date": s.study_date.isoformat() if s.study_date else "",
            "size": size, "title": s.title}
