"""One exported file: which format goes to which writer (seg.py, nifti.py)."""

from __future__ import annotations

from sqlmodel import Session

from labelstack.db.models import User
from labelstack.services.errors import InvalidInput
from labelstack.services.exports import nifti, seg
from labelstack.services.exports.export_file import ExportFile


def export_annotation(session: Session, *, actor: User, annotation_id: int, fmt: str) -> ExportFile:
    if fmt == "seg":
        return seg.export_seg(session, actor=actor, annotation_id=annotation_id)
    if fmt in ("nifti", "png"):
        return (nifti.export_mask_nifti if fmt == "nifti" else nifti.export_mask_png)(
            session, actor=actor, annotation_id=annotation_id)
    raise InvalidInput(f"unknown export format {fmt!r}; expected seg, nifti or png")


def export_series(session: Session, *, actor: User, series_uid: str, fmt: str) -> ExportFile:
    if fmt != "nifti":
        raise InvalidInput(f"unknown export format {fmt!r}; expected nifti")
    return nifti.export_series_nifti(session, actor=actor, series_uid=series_uid)
