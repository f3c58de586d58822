"""Export routes: an annotation as DICOM SEG, NIfTI or PNG masks; an image volume as NIfTI;
several labels as one SEG, stored to the PACS, or imported from a file or the store; the
dataset zip."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from labelstack.api.deps import AdminUser, CurrentUser, SessionDep
from labelstack.api.uploads import bounded_body
from labelstack.services.errors import InvalidInput
from labelstack.services.exports import dataset, files, seg
from labelstack.services.images import importing as image_import

router = APIRouter(tags=["exports"])


@router.get("/annotations/{annotation_id}/export", response_class=Response,
            responses={200: {"content": {"application/dicom": {}, "application/gzip": {},
                                         "application/zip": {}}}})
def export_annotation(session: SessionDep, actor: CurrentUser, annotation_id: int,
                      format: Literal["seg", "nifti", "png"] = "seg") -> Response:  # noqa: A002
    """`seg`: DICOM SEG (one segment, BINARY); `nifti`: the mask as .nii.gz; `png`: a zip of
    one PNG mask per frame (single-frame images and cines)."""
    export = files.export_annotation(session, actor=actor, annotation_id=annotation_id, fmt=format)
    return Response(export.data, media_type=export.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


@router.get("/series/{series_uid}/export", response_class=Response,
            responses={200: {"content": {"application/gzip": {}}}})
def export_series(session: SessionDep, actor: CurrentUser, series_uid: str,
                  format: Literal["nifti"] = "nifti") -> Response:  # noqa: A002
    """The image volume as .nii.gz, its affine mapping voxel centres to patient positions."""
    export = files.export_series(session, actor=actor, series_uid=series_uid, fmt=format)
    return Response(export.data, media_type=export.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


# --- DICOM SEG: several labels in one SEG, store to the PACS, import -----------------------

class SegStoreRequest(BaseModel):
    annotation_ids: list[int] = Field(min_length=1, max_length=seg.MAX_SEGMENTS,
                                      description="annotations of one image, one per label")


class StoredSegPublic(BaseModel):
    status: str = Field(description="stored, or present when the same SEG was stored before")
    store: str
    series_uid: str = Field(description="the SEG's own series (a derived series of the image)")
    sop_instance_uid: str
    series_id: int | None
    image_series_uid: str
    annotation_ids: list[int]


class ImportedSegmentPublic(BaseModel):
    number: int
    segment_label: str
    label_id: int
    label: str
    label_created: bool
    label_assignment_id: int
    annotation_id: int
    voxels: int


class SegImportPublic(BaseModel):
    series_uid: str
    seg_sop_instance_uid: str
    segments: list[ImportedSegmentPublic]


_SEG_BODY = {"requestBody": {"required": True, "content": {
    "application/dicom": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}}},
    "description": "one DICOM SEG file: raw body or a multipart `file`"}}


@router.get("/seg", response_class=Response,
            responses={200: {"content": {"application/dicom": {}}}})
def export_seg(session: SessionDep, actor: CurrentUser,
               annotation_id: Annotated[list[int], Query(description="annotations of one image, "
                                                         "one per label; repeat the parameter")]
               ) -> Response:
    """One DICOM SEG of several annotations on the same image: a segment per label."""
    export = seg.export_segs(session, actor=actor, annotation_ids=annotation_id)
    return _download(export.data, export.media_type, export.filename)


@router.post("/seg/store", response_model=StoredSegPublic,
             responses={409: {"description": "the image store (PACS) refused the SEG or is "
                                             "unreachable; nothing changed but the audit trail"}})
def store_seg(session: SessionDep, actor: AdminUser, data: SegStoreRequest) -> StoredSegPublic:
    """Admin: store the SEG of these annotations in the image's store (STOW-RS to the PACS),
    indexed as a derived series of the image."""
    stored = seg.store_seg(session, actor=actor, annotation_ids=data.annotation_ids)
    return StoredSegPublic(**asdict(stored))


@router.post("/seg/import", response_model=SegImportPublic, status_code=201,
             openapi_extra=_SEG_BODY,
             responses={413: {"description": "over LABELSTACK_MAX_UPLOAD_MB"},
                        422: {"description": "corrupt, or not made on this image"},
                        409: {"description": "a label already has versions on the image"}})
async def import_seg(request: Request, session: SessionDep, actor: AdminUser,
                     create_labels: bool = Query(False, description="create labels no segment "
                                                 "name matches, instead of refusing"),
                     series_uid: str | None = Query(None, description="the image; default: the "
                                                    "series the SEG references")
                     ) -> SegImportPublic:
    """Admin: a SEG made elsewhere becomes the first version of each of its labels (matched by
    name, case-insensitive), awaiting review."""
    body = await _read_seg(request)
    report = await run_in_threadpool(lambda: seg.import_seg(
        session, actor=actor, data=body, series_uid=series_uid, create_labels=create_labels))
    return SegImportPublic(**asdict(report))


@router.post("/seg/import/{seg_series_uid}", response_model=SegImportPublic, status_code=201)
def import_stored_seg(session: SessionDep, actor: AdminUser, seg_series_uid: str,
                      create_labels: bool = False) -> SegImportPublic:
    """Admin: a SEG series already in the store (and the index) becomes the first version of
    its labels on the image it references."""
    report = seg.import_stored_seg(session, actor=actor, seg_series_uid=seg_series_uid,
                                   create_labels=create_labels)
    return SegImportPublic(**asdict(report))


# --- the dataset zip ------------------------------------------------------------------------

@router.get("/exports/dataset", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}},
                       409: {"description": "nothing final (accepted) to export"}})
def export_dataset(session: SessionDep, actor: AdminUser,
                   label_id: Annotated[list[int] | None, Query(description="labels; default all")]
                   = None,
                   series_id: Annotated[list[int] | None, Query(description="images; default all")]
                   = None,
                   images: Annotated[bool, Query(description="include the image volumes")] = True,
                   ) -> FileResponse:
    """Admin: every accepted annotation of these labels and images as a zip: NIfTI images and
    masks with a JSON manifest (UIDs, label, version, author, reviewer, dates). Written to a
    temporary file and streamed from there, then deleted."""
    path, _ = dataset.export_dataset_file(session, actor=actor, label_ids=label_id,
                                          series_ids=series_id, images=images)
    return FileResponse(path, media_type="application/zip", filename="labelstack-dataset.zip",
                        background=BackgroundTask(path.unlink, missing_ok=True))


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def _read_seg(request: Request) -> bytes:
    """The SEG bytes: the raw body, or the `file` part of a multipart body (size-bounded)."""
    body = b"".join([chunk async for chunk in bounded_body(request, image_import.check_upload_size)])
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        if not body:
            raise InvalidInput("send the SEG as the request body (application/dicom) or as a "
                               "multipart `file`")
        return body

    async def replay() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(request.headers, replay()).parse()
    except MultiPartException as exc:
        raise InvalidInput(f"bad multipart upload: {exc.message}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("a multipart upload needs a `file` part holding the SEG")
    try:
        return await upload.read()
    finally:
        await form.close()
