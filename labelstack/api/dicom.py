"""DICOM in: multipart upload (files or zips) and syncing the index from the DICOMweb server."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, UploadFile

from labelstack.api.deps import AdminUser, SessionDep
from labelstack.services import images
from labelstack.services.image_sources import sources_from_upload

router = APIRouter(tags=["dicom"])


@router.post("/dicom")
def upload(session: SessionDep, actor: AdminUser, files: list[UploadFile]) -> dict[str, Any]:
    """Import one or many files (zips are opened); the report says what happened to each."""
    sources = (source for upload in files
               for source in sources_from_upload(upload.filename or "upload", upload.file.read()))
    report = images.import_dicom(session, actor=actor, sources=sources)
    return {"store": report.store, "summary": report.summary,
            "items": [asdict(item) for item in report.items]}


@router.post("/dicomweb/sync")
def sync(session: SessionDep, actor: AdminUser, full: bool = False) -> dict[str, Any]:
    """Index the DICOMweb server's series: only new or changed ones unless `full`."""
    return asdict(images.sync_from_dicomweb(session, actor=actor, full=full))
