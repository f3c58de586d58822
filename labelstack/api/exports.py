"""Export routes: an annotation as DICOM SEG, NIfTI or PNG masks; an image volume as NIfTI."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from labelstack.api.deps import CurrentUser, SessionDep
from labelstack.services.exports import files

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
