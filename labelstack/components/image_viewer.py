"""One image without a task, read-only: the annotator's slice views (layouts, planes, window,
navigation, crosshair, cine) beside what the index knows of the series. No drawing tools."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from labelstack.components.annotator_views import VIEW_SHORTCUTS, SliceViews
from labelstack.db.models import User
from labelstack.imaging.volume import Volume
from labelstack.services.images.index import SeriesRow


class ImageViewer:
    def __init__(self, *, actor: User, row: SeriesRow) -> None:
        self.row = row
        self.views = SliceViews(user=actor, shortcuts=VIEW_SHORTCUTS)

    def build(self, volume: Volume) -> None:
        with ui.row().classes("w-full no-wrap gap-3 items-stretch").style("height: calc(100vh - 150px)"):
            with ui.card().props("flat bordered").classes("w-64 shrink-0 gap-2 overflow-auto p-3") \
                    .props("data-testid=image-details"):
                ui.label("Image").classes("text-subtitle2 text-grey-8")
                with ui.grid(columns="auto 1fr").classes("gap-x-3 gap-y-1 text-body2"):
                    for name, value in self.details(volume):
                        ui.label(name).classes("text-grey-7")
                        ui.label(value).classes("break-words")
                ui.button("DICOM tags", icon="sell", on_click=self.views.show_tags).props(
                    "outline dense no-caps data-testid=view-tags").classes("self-start")
                ui.separator()
                ui.label("Labels").classes("text-subtitle2 text-grey-8")
                ui.label("This viewer shows the image only: labels are drawn and shown in "
                         "annotation tasks.").classes("text-body2 text-grey-6") \
                    .props("data-testid=labels-panel")
                ui.separator()
                with ui.row().classes("items-center gap-1 text-caption text-grey-7"):
                    ui.icon("visibility", size="16px")
                    ui.label("Read-only view").props("data-testid=view-read-only")
            with ui.column().classes("grow gap-1 min-w-0 no-wrap"):
                self.views.build_toolbar()
                self.views.build_grid()
        ui.keyboard(on_key=self.on_key, ignore=["input", "textarea"])

    def show(self, volume: Volume) -> None:
        self.views.show(volume, self.row.series_uid)

    def details(self, volume: Volume) -> list[tuple[str, str]]:
        r = self.row
        z, y, x = volume.pixels.shape[:3]
        size = f"{x}×{y}" + (f" × {z}" if z > 1 else "")
        spacing = " × ".join(f"{s:g}" for s in (volume.spacing[2], volume.spacing[1], volume.spacing[0]))
        kind = {"volume": "volume", "cine": f"cine, {z} frames", "image": "single image"}.get(volume.kind,
                                                                                            volume.kind)
        rows = [("Patient", (r.patient_name or "").replace("^", " ") + (f" ({r.patient_id})" if r.patient_id
                                                                      else "")),
                ("Study", r.study_description or "—"),
                ("Date", r.study_date.isoformat() if r.study_date else "—"),
                ("Modality", r.modality or "—"),
                ("Series", r.series_description or f"Series {r.series_number or ''}".strip()),
                ("Kind", kind), ("Size", size), ("Spacing", f"{spacing} mm")]
        if volume.frame_time_ms:
            rows.append(("Frame time", f"{volume.frame_time_ms:g} ms"))
        return rows

    def on_key(self, e: Any) -> None:
        mods = e.modifiers
        if e.action.keydown and not (mods.ctrl or mods.meta or mods.alt):
            self.views.handle_key(str(e.key.name))
