"""/view/{series_uid}: one image without a task, read-only, for whoever may view it (admins
any image, everyone else the images of their tasks). A series not in memory opens with its
middle slice and the load's progress (`SeriesProgress`) until the volume is whole."""

from __future__ import annotations

from nicegui import run, ui

from labelstack.components.frame import frame, refusal, signed_in_user
from labelstack.components.image_viewer import ImageViewer
from labelstack.components.series_progress import SeriesProgress
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.errors import ServiceError
from labelstack.services.images import view as image_view
from labelstack.services.images.index import SeriesRow
from labelstack.services.images.series_load import SeriesLoad


@ui.page("/view/{series_uid}")
async def viewer_page(series_uid: str) -> None:
    actor = signed_in_user()
    if actor is None:
        return
    try:
        row, load = await run.io_bound(_open, actor, series_uid)
    except ServiceError as exc:
        refusal("Image", user=actor, detail=exc.detail, testid="view-refused")
        return
    with frame(row.title, user=actor):
        body = ui.column().classes("w-full gap-0")
        with body:
            progress = None if load.done else SeriesProgress(series_uid, load, title="Opening the image")
    await ui.context.client.connected()
    try:
        volume = await (progress.wait() if progress is not None else run.io_bound(load.wait))
    except ServiceError as exc:
        body.clear()
        with body, ui.card().props("flat bordered").classes("mx-auto mt-8 p-6 items-center gap-2"):
            ui.icon("broken_image", size="40px").classes("text-grey-6")
            ui.label("This image could not be opened").classes("text-h6")
            ui.label(exc.detail).classes("text-negative").props("data-testid=view-refused")
            ui.button("Try again", icon="refresh", on_click=lambda: ui.navigate.reload()).props(
                "outline no-caps data-testid=view-retry")
        return
    assert volume is not None
    body.clear()
    with body:
        viewer = ImageViewer(actor=actor, row=row)
        viewer.build(volume)
    viewer.show(volume)


def _open(actor: User, series_uid: str) -> tuple[SeriesRow, SeriesLoad]:
    """The index row and the started load, for a user who may view the series (the view
    rule); a series in memory is loaded already."""
    with session_scope() as session:
        return image_view.open_series(session, actor=actor, series_uid=series_uid)
