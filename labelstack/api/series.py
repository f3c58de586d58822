"""Series: search the index (admins), and view one series (admins, and the assignees of a
task that holds it: `image_access`).

Plain `def` routes: decoding and store reads run in the thread pool, off the event loop; the
render route hands its whole request to one worker thread itself (`render_frame`, which
`render_lane` calls too, in front of the web stack).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from labelstack.api.deps import AdminUser, CurrentUser, SessionDep, oauth2
from labelstack.db.session import session_scope
from labelstack.imaging.mpr import Plane
from labelstack.services.accounts import cached_users
from labelstack.services.errors import NotAuthenticated
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images import view as image_view

router = APIRouter(prefix="/series", tags=["series"])
MEDIA = {"png": "image/png", "jpeg": "image/jpeg"}


@router.get("")
def search_series(session: SessionDep, actor: AdminUser, patient: str | None = None,
                  modality: str | None = None, date_from: date | None = None,
                  date_to: date | None = None, description: str | None = None,
                  offset: Annotated[int, Query(ge=0)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  sort: Annotated[str, Query(description="study_date, patient or modality; "
                                             "'-' first for descending")] = "-study_date",
                  ) -> dict[str, Any]:
    """Series matching all filters (text filters match parts, modality exactly), paged."""
    page = image_catalog.search(session, actor=actor, patient=patient, modality=modality,
                         date_from=date_from, date_to=date_to, description=description,
                         offset=offset, limit=limit, sort=sort)
    return asdict(page)


@router.get("/{series_uid}")
def get_series(session: SessionDep, actor: CurrentUser, series_uid: str) -> dict[str, Any]:
    """Index data plus the volume geometry (decodes the series on first use)."""
    row, geometry = image_view.describe(session, actor=actor, series_uid=series_uid)
    return {**asdict(row), "geometry": asdict(geometry)}


@router.get("/{series_uid}/metadata")
def get_metadata(session: SessionDep, actor: CurrentUser, series_uid: str,
                 instance: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    return image_view.metadata(session, actor=actor, series_uid=series_uid, index=instance)


@router.get("/{series_uid}/render", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}})
async def render(token: Annotated[str | None, Depends(oauth2)], series_uid: str,
                 plane: Plane = Plane.axial,
                 index: Annotated[int | None, Query(ge=0, description="default: middle slice")] = None,
                 ww: Annotated[float | None, Query(gt=0, description="window width")] = None,
                 wl: Annotated[float | None, Query(description="window level (centre)")] = None,
                 invert: Annotated[int, Query(ge=0, le=1)] = 0,
                 table: Annotated[int | None, Query(
                     ge=0, description="one of the file's VOI LUT tables (when ww/wl are not given)")] = None,
                 format: Literal["png", "jpeg"] = "png") -> Response:  # noqa: A002
    """One slice at the native pixel grid; the series' default window unless ww/wl are given.
    While the series loads, an axial slice is decoded from its own instance."""
    if not token:
        raise NotAuthenticated("not authenticated: send 'Authorization: Bearer <token>'")
    data = await run_in_threadpool(render_frame, token, series_uid, plane, index, wl, ww,
                                   bool(invert), table, format)
    return Response(data, media_type=MEDIA[format], headers={"Cache-Control": "no-cache"})


def render_frame(token: str, series_uid: str, plane: Plane, index: int | None, wl: float | None,
            ww: float | None, invert: bool, table: int | None, fmt: str) -> bytes:
    """The whole request in one worker thread (a sync route with a session and a user
    dependency took three): the token's user and everything the view rule and the index
    say come from brief caches, so a frame of a loaded series reads no database."""
    with session_scope() as session:
        actor = cached_users.user_for_token(session, token)
        return image_view.render(session, actor=actor, series_uid=series_uid, plane=plane,
                                 index=index, center=wl, width=ww, invert=invert, table=table,
                                 fmt=fmt)


def render_known_frame(token: str, series_uid: str, plane: Plane, index: int | None,
                       wl: float | None, ww: float | None, invert: bool, table: int | None,
                       fmt: str) -> bytes | None:
    """`render_frame` without a session or a thread, when the token's user, the view rule,
    the index and the volume are all held in memory; else None (nothing read)."""
    actor = cached_users.known_user_for_token(token)
    if actor is None:
        return None
    return image_view.render_ready(actor=actor, series_uid=series_uid, plane=plane, index=index,
                                   center=wl, width=ww, invert=invert, table=table, fmt=fmt)


@router.get("/{series_uid}/thumbnail", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
def thumbnail(session: SessionDep, actor: CurrentUser, series_uid: str) -> Response:
    return Response(image_view.thumbnail(session, actor=actor, series_uid=series_uid),
                    media_type="image/jpeg")
