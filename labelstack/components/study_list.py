"""The Images page's study view: one page of studies, each opening to its series (a series
opens its details)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from labelstack.components.image_table import series_row
from labelstack.components.series_picker import patient_text
from labelstack.services.images.studies import StudyRow

PAGE_SIZE = 20


class StudyList:
    def __init__(self, *, on_page: Callable[[int], Awaitable[None]]) -> None:
        self.on_page = on_page
        self.box = ui.column().classes("w-full gap-0 bg-white rounded-borders") \
            .props("data-testid=images-studies").style("border: 1px solid rgba(0,0,0,.12)")
        with ui.row().classes("w-full justify-end") as self.bottom:
            self.pages = ui.pagination(1, 1, direction_links=True,
                                       on_change=lambda e: self.on_page(e.value)) \
                .props("dense data-testid=images-studies-pages")

    def set_visibility(self, visible: bool) -> None:
        self.box.set_visibility(visible)
        self.bottom.set_visibility(visible)

    def show(self, studies: list[StudyRow], total: int, *, page: int) -> None:
        self.box.clear()
        with self.box:
            for study in studies:
                patient = patient_text(study.series[0]) if study.series else study.patient_id
                count = len(study.series)
                with ui.expansion(value=False).classes("w-full").props(
                        f"dense data-testid=study-{study.study_uid}") as item:
                    with item.add_slot("header"), ui.row().classes("w-full items-center gap-4"):
                        ui.label(patient).classes("text-weight-medium w-64")
                        ui.label(study.description or "—").classes("grow")
                        ui.label(study.study_date.isoformat() if study.study_date else "")
                        ui.badge(f"{count} series").props("color=blue-grey-6")
                    for s in study.series:
                        row = series_row(s)
                        with ui.item(on_click=lambda uid=s.series_uid:
                                     ui.navigate.to(f"/images/{uid}")).props(
                                f"clickable dense data-testid=study-series-{s.series_uid}"):
                            with ui.item_section().props("avatar"):
                                ui.badge(s.modality or "?").props("color=blue-grey-6")
                            with ui.item_section():
                                ui.label(row["series"])
                            with ui.item_section().props("side"):
                                ui.label(row["size"])
            if not studies:
                ui.label("No studies match these filters").classes(
                    "w-full text-center text-grey-7 py-6").props("data-testid=empty-state")
        self.pages.max = max(1, -(-total // PAGE_SIZE))
        self.pages.set_value(page)
