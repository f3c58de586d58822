"""/view/{series_uid}: one image without a task, read-only, for whoever may view it (admins
any image, everyone else the images of their tasks)."""

from __future__ import annotations

from nicegui import run, ui

from labelstack.components.frame import frame, refusal, signed_in_user
from labelstack.components.image_viewer import ImageViewer
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.imaging.volume import Volume
from labelstack.services.errors import ServiceError
from labelstack.services.images import view as image_view
from labelstack.services.images.index import SeriesRow


@ui.page("/view/{series_uid}")
async def viewer_page(series_uid: str) -> None:
    actor = signed_in_user()
    if actor is None:
        return
    try:
        row, volume = await run.io_bound(_open, actor, series_uid)
    except ServiceError as exc:
        refusal("Image", user=actor, detail=exc.detail, testid="view-refused")
        return
    with frame(row.title, user=actor):
        viewer = ImageViewer(actor=actor, row=row)
        viewer.build(volume)
    await ui.context.client.connected()
    viewer.show(volume)


def _open(actor: User, series_uid: str) -> tuple[SeriesRow, Volume]:
    """The index row and the volume, for a user who may view the series (the view rule)."""
    with session_scope() as session:
        row, _ = image_view.describe(session, actor=actor, series_uid=series_uid)
        return row, image_view.open_volume(session, actor=actor, series_uid=series_uid)
