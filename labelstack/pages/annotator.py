"""/task/{id}: the annotator on one task; /viewer/render/...: the slices of the annotator and
of the read-only viewer (/view/{series_uid}, registered with this module), for this browser's
user."""

from __future__ import annotations

from fastapi import Query
from fastapi.responses import Response
from nicegui import app, run, ui

from labelstack.components.annotator import Annotator
from labelstack.components.frame import frame, refusal, signed_in_user
from labelstack.components.session import GENERATION_KEY, SESSION_KEY, browser_user
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.imaging.mpr import Plane
from labelstack.services.accounts import cached_users
from labelstack.services.annotations.workspace import Workspace, task_workspace
from labelstack.services.errors import NotAuthenticated, ServiceError
from labelstack.services.images import view as image_view


@ui.page("/task/{task_id}")
async def annotator_page(task_id: int) -> None:
    actor = signed_in_user()
    if actor is None:
        return
    try:
        workspace = await run.io_bound(_workspace, actor, task_id)
    except ServiceError as exc:
        refusal("Task", user=actor, detail=exc.detail, testid="task-refused")
        return
    with frame(workspace.name, user=actor):
        if not workspace.images:
            ui.label("This task has no images with labels to draw.").props("data-testid=task-empty")
            return
        annotator = Annotator(actor=actor, workspace=workspace)
        annotator.build()
    ui.timer(1.0, annotator.edits.tick)
    ui.context.client.on_disconnect(annotator.close)
    await ui.context.client.connected()
    await annotator.open_image(0)
    ui.context.client.on_connect(annotator.edits.reconnected)


@app.get("/viewer/render/{series_uid}", include_in_schema=False)
def render_for_browser(series_uid: str, plane: Plane = Plane.axial,
                       index: int | None = Query(default=None, ge=0),
                       wl: float | None = None, ww: float | None = Query(default=None, gt=0),
                       invert: int = Query(default=0, ge=0, le=1),
                       table: int | None = Query(default=None, ge=0)) -> Response:
    """A JPEG slice for the signed-in browser, with the same view rule as the API."""
    user = _frame_user()
    if user is None:
        return Response("sign in first", status_code=NotAuthenticated.status_code)
    try:
        data = _render(user, series_uid, plane, index, wl, ww, bool(invert), table)
    except ServiceError as exc:
        return Response(exc.detail, status_code=exc.status_code)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


def _frame_user() -> User | None:
    """`browser_user()`, with the user briefly cached (`cached_users`): a scroll through a
    series asks for many frames a second. A refusal goes through `browser_user()`, which
    ends the browser's session."""
    user_id = app.storage.user.get(SESSION_KEY)
    if user_id is not None:
        with session_scope() as session:
            user = cached_users.active_user(session, user_id)
        if user is not None and user.session_generation == app.storage.user.get(GENERATION_KEY, 0):
            return user
    return browser_user()


def _workspace(actor: User, task_id: int) -> Workspace:
    with session_scope() as session:
        return task_workspace(session, actor=actor, task_id=task_id)


def _render(actor: User, series_uid: str, plane: Plane, index: int | None, wl: float | None,
            ww: float | None, invert: bool, table: int | None) -> bytes:
    with session_scope() as session:
        return image_view.render(session, actor=actor, series_uid=series_uid, plane=plane,
                                 index=index, center=wl, width=ww, invert=invert, table=table,
                                 fmt="jpeg")
