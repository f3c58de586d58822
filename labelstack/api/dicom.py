"""DICOM in: multipart upload (files or zips) and syncing the index from the DICOMweb server."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from labelstack.api.deps import AdminUser, SessionDep
from labelstack.api.uploads import bounded_body
from labelstack.services.errors import InvalidInput
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images import importing as image_import
from labelstack.services.images.sources import sources_from_upload

router = APIRouter(tags=["dicom"])

# The body is parsed by the route (to stop at the size limit), so its schema is stated here.
FILES_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
}}}}}


@router.post("/dicom", openapi_extra=FILES_BODY,
             responses={413: {"description": "the upload is over LABELSTACK_MAX_UPLOAD_MB"}})
async def upload(request: Request, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Import one or many files (zips are opened); the report says what happened to each:
    stored, present (this very file is indexed), conflict (its SOPInstanceUID is indexed for
    another series or other content; not stored) or rejected, each with its reason.

    A body over the upload limit is refused with 413 as soon as that is known (from
    Content-Length, else while it streams in), before it is spooled in full.
    """
    form = await _read_form(request)
    try:
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        if not uploads:
            raise InvalidInput("no files: send them as multipart/form-data field `files`")
        sources = (source for f in uploads
                   for source in sources_from_upload(f.filename or "upload", f.file))
        report = await run_in_threadpool(
            lambda: image_import.import_dicom(session, actor=actor, sources=sources))
    finally:
        await form.close()
    return {"store": report.store, "summary": report.summary,
            "items": [asdict(item) for item in report.items]}


@router.post("/dicomweb/sync")
def sync(session: SessionDep, actor: AdminUser, full: bool = False) -> dict[str, Any]:
    """Index the DICOMweb server's series: only new or changed ones unless `full`."""
    return asdict(image_catalog.sync_from_dicomweb(session, actor=actor, full=full))


async def _read_form(request: Request) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send the files as multipart/form-data field `files`")
    try:
        return await MultiPartParser(request.headers,
                                     bounded_body(request, image_import.check_upload_size)).parse()
    except MultiPartException as exc:
        raise InvalidInput(f"bad multipart upload: {exc.message}") from None
