"""Annotations: list and read them, their revisions and masks, save by `.npy` upload, rework.

Masks travel as `.npy` arrays shaped like the image volume (z, y, x), so a
script or an AI pre-annotation can read and write them with numpy alone.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from labelstack.annotation.codec import mask_to_npy
from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.ops import EditOp
from labelstack.api.annotation_schemas import (
    AnnotationPublic,
    EditIn,
    EditResult,
    RevisionPublic,
    VersionHistoryPublic,
)
from labelstack.api.deps import AdminUser, CurrentUser, SessionDep
from labelstack.api.uploads import bounded_body
from labelstack.services.annotations import editing, history, revisions
from labelstack.services.annotations import reads as annotations
from labelstack.services.errors import InvalidInput, TooLarge
from labelstack.services.tasks import items as task_items
from labelstack.services.workflow import rework

router = APIRouter(tags=["annotations"])

_NPY_BODY = {"requestBody": {"content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}, "time_spent": {"type": "number"}}}}},
    "description": "a .npy mask shaped (z, y, x), dtype bool or uint8 0/1: raw body or a "
                   "multipart `file`"}}


class SaveResponse(BaseModel):
    saved: bool
    reason: str | None = None
    annotation: AnnotationPublic
    revision: RevisionPublic | None


class ReworkRequest(BaseModel):
    annotation_ids: list[int] = Field(min_length=1, max_length=10_000)
    assignee_id: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ReworkResponse(BaseModel):
    task_id: int
    name: str
    status: str
    assignee_id: int | None
    label_assignment_ids: list[int]


@router.get("/annotations", response_model=list[AnnotationPublic])
def list_annotations(session: SessionDep, actor: CurrentUser, task_id: int | None = None,
                     label_assignment_id: int | None = None) -> list[AnnotationPublic]:
    """The annotations you may read, by task and/or label assignment."""
    found = annotations.list_annotations(session, actor=actor, task_id=task_id,
                                         label_assignment_id=label_assignment_id)
    return [AnnotationPublic.of(a) for a in found]


@router.post("/annotations/rework", response_model=ReworkResponse, status_code=201)
def rework_rejected(session: SessionDep, actor: AdminUser, data: ReworkRequest) -> ReworkResponse:
    """Admin: put rejected annotations into a new annotation task, in one action."""
    task = rework.rework_rejected(session, actor=actor, annotation_ids=data.annotation_ids,
                                   assignee_id=data.assignee_id, name=data.name)
    return ReworkResponse(task_id=task.id or 0, name=task.name, status=task.status,
                          assignee_id=task.assignee_id,
                          label_assignment_ids=task_items.item_ids(session, task))


@router.get("/annotations/{annotation_id}", response_model=AnnotationPublic)
def get_annotation(session: SessionDep, actor: CurrentUser, annotation_id: int) -> AnnotationPublic:
    return AnnotationPublic.of(annotations.read_annotation(session, actor=actor,
                                                           annotation_id=annotation_id))


@router.get("/annotations/{annotation_id}/revisions", response_model=list[RevisionPublic])
def list_revisions(session: SessionDep, actor: CurrentUser,
                   annotation_id: int) -> list[RevisionPublic]:
    found = annotations.list_revisions(session, actor=actor, annotation_id=annotation_id)
    return [RevisionPublic.of(r) for r in found]


@router.get("/annotations/{annotation_id}/mask", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "a .npy bool array shaped (z, y, x)"}})
def current_mask(session: SessionDep, actor: CurrentUser, annotation_id: int) -> Response:
    """The mask as the editor acknowledged it: the last revision plus every acknowledged
    stroke not yet folded into one (same read rule as revisions)."""
    mask = editing.mask_now(session, actor=actor, annotation_id=annotation_id)
    return Response(mask_to_npy(mask), media_type="application/octet-stream",
                    headers={"Content-Disposition":
                             f'attachment; filename="annotation-{annotation_id}.npy"'})


@router.post("/annotations/{annotation_id}/edits", response_model=EditResult,
             responses={409: {"description": "closed task, someone else editing, read-only"},
                        422: {"description": "a bad stroke: outside the image, a bad slice, "
                                             "too many points"}})
def apply_edit(session: SessionDep, actor: CurrentUser, annotation_id: int,
               data: EditIn) -> EditResult:
    """Apply one drawing operation, as the editor does: durable (in the journal) once this
    answers; the next save (or the editor) folds it into a revision."""
    try:
        op = EditOp.from_json(data.model_dump(exclude_none=True))
    except AnnotationInputError as exc:
        raise InvalidInput(str(exc)) from None
    change = editing.apply_once(session, actor=actor, annotation_id=annotation_id, op=op)
    return EditResult(changed=change.changed, box=list(change.box))


@router.get("/annotations/{annotation_id}/revisions/{sequence}/mask", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "a .npy bool array shaped (z, y, x)"}})
def download_mask(session: SessionDep, actor: CurrentUser, annotation_id: int,
                  sequence: int) -> Response:
    mask = annotations.revision_mask(session, actor=actor, annotation_id=annotation_id,
                                     sequence=sequence)
    filename = f"annotation-{annotation_id}-revision-{sequence}.npy"
    return Response(mask_to_npy(mask), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/annotations/{annotation_id}/revisions", response_model=SaveResponse,
             status_code=201, openapi_extra=_NPY_BODY,
             responses={200: {"description": "content unchanged: nothing saved"}})
async def upload_revision(request: Request, response: Response, session: SessionDep,
                          actor: CurrentUser, annotation_id: int,
                          time_spent: float = Query(0.0, description="active seconds since the "
                                                    "last save"),
                          row_version: int | None = Query(None, description="refuse if the "
                                                          "annotation changed since")
                          ) -> SaveResponse:
    """Save a new revision from a `.npy` mask; identical content is not saved again.

    A body larger than the image's z·y·x bytes plus a small header allowance is refused
    with 413 before it is read in full.
    """
    limit = await run_in_threadpool(lambda: revisions.upload_limit(
        session, actor=actor, annotation_id=annotation_id))
    data, form_seconds = await _read_upload(request, limit)
    result = await run_in_threadpool(
        lambda: revisions.save_npy(session, actor=actor, annotation_id=annotation_id, data=data,
                                   time_spent=time_spent if form_seconds is None else form_seconds,
                                   row_version=row_version))
    if not result.saved:
        response.status_code = 200
    return SaveResponse(saved=result.saved, reason=result.reason,
                        annotation=AnnotationPublic.of(result.annotation),
                        revision=RevisionPublic.of(result.revision) if result.revision else None)


@router.get("/label-assignments/{label_assignment_id}/history",
            response_model=list[VersionHistoryPublic])
def assignment_history(session: SessionDep, actor: CurrentUser,
                       label_assignment_id: int) -> list[VersionHistoryPublic]:
    """Every version you may read of this label on this image, with revisions and reviews."""
    found = history.history(session, actor=actor, label_assignment_id=label_assignment_id)
    return [VersionHistoryPublic.of(h) for h in found]


async def _read_upload(request: Request, limit: int) -> tuple[bytes, float | None]:
    """The `.npy` bytes (raw body or multipart `file`) and a `time_spent` form field, if any."""
    body = await _read_body(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body, None
    try:
        form = await MultiPartParser(request.headers, _replay(body)).parse()
    except MultiPartException as exc:
        raise InvalidInput(f"bad multipart upload: {exc.message}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("multipart upload needs a `file` part holding the .npy mask")
    seconds = form.get("time_spent")
    try:
        return await upload.read(), float(seconds) if isinstance(seconds, str) else None
    except ValueError:
        raise InvalidInput("time_spent must be a number of seconds") from None


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as its declared or received size passes `limit`."""
    too_large = TooLarge(f"upload larger than {limit} bytes: a mask for this image is z·y·x "
                         "bytes (bool or uint8) plus a small .npy header", limit=limit)

    def check(size: int) -> None:
        if size > limit:
            raise too_large

    return b"".join([chunk async for chunk in bounded_body(request, check)])


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    """The body already read, as the stream the multipart parser expects."""
    yield body
