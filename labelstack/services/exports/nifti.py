"""NIfTI and PNG exports: an annotation's mask (`format=nifti|png`) and an image volume
(`GET /series/{uid}/export?format=nifti`). The files' geometry and axis order are
`annotation.nifti`'s: data (x, y, z) = (column, row, slice), affine voxel centre → RAS mm.

Which mask. The annotation as it stands: its last revision plus acknowledged edits not yet
saved (`editing.mask_now`, the same as `GET /annotations/{id}/mask`). Final work (accepted
versions) has no pending edits, so its export is exactly the accepted revision; to export
final work only, pick accepted annotations (the dataset export does). An annotation with
nothing saved exports as an empty mask.

Who may export. A mask: whoever may read the annotation (`reads.read_annotation`); its
placement comes from the image volume without the viewer's rule (geometry only, no pixel
leaves). The image volume: whoever may view the series (`view.open_volume`).

PNG masks are for single-frame images and cines; a 3D volume's mask is refused (422: use
`nifti`). Exports are reads: nothing is changed or audited.
"""

from __future__ import annotations

import re

import numpy as np
from sqlmodel import Session

from labelstack.annotation import nifti
from labelstack.db.models import Annotation, Label, LabelAssignment, Series, User
from labelstack.imaging.volume import Volume
from labelstack.services.annotations import editing, reads
from labelstack.services.errors import Conflict, InvalidInput
from labelstack.services.exports.export_file import ExportFile
from labelstack.services.images.view import load_volume, open_volume

NIFTI_MEDIA_TYPE = "application/gzip"
ZIP_MEDIA_TYPE = "application/zip"


def export_mask_nifti(session: Session, *, actor: User, annotation_id: int) -> ExportFile:
    """The annotation's mask as `.nii.gz` (uint8 0/1, intent label) on its image's grid."""
    annotation, label, series, volume, mask = _mask(session, actor=actor, annotation_id=annotation_id)
    description = f"LabelStack {label.name} v{annotation.version} annotation {annotation_id}"
    data = nifti.mask_nifti(mask, volume, description=description)
    return ExportFile(data=data, media_type=NIFTI_MEDIA_TYPE,
                            filename=f"{_stem(annotation, label, series)}.nii.gz")


def export_mask_png(session: Session, *, actor: User, annotation_id: int) -> ExportFile:
    """A zip of one PNG mask (0/255) per frame: single-frame images and cines only."""
    annotation, label, series, volume, mask = _mask(session, actor=actor, annotation_id=annotation_id)
    if volume.kind == "volume":
        raise InvalidInput(f"PNG masks are for single-frame images and cines; image "
                           f"{series.series_uid} is a volume of {mask.shape[0]} slices: export it "
                           "as nifti", kind=volume.kind)
    return ExportFile(data=nifti.mask_png_zip(mask), media_type=ZIP_MEDIA_TYPE,
                            filename=f"{_stem(annotation, label, series)}.png.zip")


def export_series_nifti(session: Session, *, actor: User, series_uid: str) -> ExportFile:
    """The image volume (main stack) as `.nii.gz`: int16 or float32 modality values, RGB24."""
    volume = open_volume(session, actor=actor, series_uid=series_uid)
    data = nifti.image_nifti(volume, description=f"LabelStack {volume.modality} {volume.kind}")
    return ExportFile(data=data, media_type=NIFTI_MEDIA_TYPE,
                            filename=f"{_safe(series_uid)}.nii.gz")


def _mask(session: Session, *, actor: User,
          annotation_id: int) -> tuple[Annotation, Label, Series, Volume, np.ndarray]:
    mask = editing.mask_now(session, actor=actor, annotation_id=annotation_id)  # the read rule
    annotation = reads.get_annotation(session, annotation_id)
    assignment = session.get(LabelAssignment, annotation.label_assignment_id)
    series = session.get(Series, assignment.series_id) if assignment else None
    label = session.get(Label, assignment.label_id) if assignment else None
    if series is None or label is None:
        raise Conflict(f"the image or label of annotation {annotation_id} is gone")
    volume = load_volume(session, series.series_uid)
    if mask.shape != volume.pixels.shape[:3]:
        raise Conflict(f"annotation {annotation_id}'s mask {mask.shape} does not fit its image "
                       f"{volume.pixels.shape[:3]} (z, y, x)")
    return annotation, label, series, volume, mask


def _stem(annotation: Annotation, label: Label, series: Series) -> str:
    return _safe(f"{label.name}_v{annotation.version}_annotation-{annotation.id}_{series.series_uid}")


def _safe(text: str) -> str:
    """A file name part: letters, digits, dot, dash and underscore only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "export"
