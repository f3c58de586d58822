"""A series that is still loading: its middle slice at once (decoded from that instance
alone by the render route) and how much of the rest has arrived, until the viewer or the
annotator can show the whole volume."""

from __future__ import annotations

import asyncio

from nicegui import run, ui

from labelstack.imaging.volume import Volume
from labelstack.services.images.series_load import SeriesLoad

POLL_SECONDS = 0.25


class SeriesProgress:
    def __init__(self, series_uid: str, load: SeriesLoad, *, title: str = "") -> None:
        self.load = load
        with ui.column().classes("w-full items-center gap-2 q-pa-md") \
                .props("data-testid=series-loading") as self.element:
            if title:
                ui.label(title).classes("text-subtitle1 text-grey-8")
            with ui.element("div").classes("bg-black rounded-borders overflow-hidden") \
                    .style("width: min(60vh, 100%); aspect-ratio: 1"):
                ui.image(f"/viewer/render/{series_uid}").classes("w-full h-full").props(
                    "fit=contain no-spinner no-transition data-testid=series-first-slice")
            with ui.row().classes("items-center no-wrap gap-3").style("width: min(60vh, 100%)") \
                    .props("data-testid=series-progress"):
                self.bar = ui.linear_progress(value=load.fraction, show_value=False, size="10px") \
                    .props("color=teal-7 rounded").classes("grow")
                self.text = ui.label(self._text()).classes("text-body2 text-grey-8 whitespace-nowrap") \
                    .props("data-testid=series-progress-text")

    def _text(self) -> str:
        load = self.load
        if load.read < load.total:
            return f"{load.fraction:.0%} · {load.read} of {load.total} images"
        return f"{load.fraction:.0%} · decoding"

    async def wait(self) -> Volume:
        """The volume once loaded; the load's failure (a ServiceError) is raised."""
        while not self.load.done:
            self.bar.set_value(self.load.fraction)
            self.text.set_text(self._text())
            await asyncio.sleep(POLL_SECONDS)
        self.bar.set_value(1.0)
        volume = await run.io_bound(self.load.wait)
        assert volume is not None  # no timeout
        return volume
