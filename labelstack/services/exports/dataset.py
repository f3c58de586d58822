"""The dataset export: every final (accepted) annotation for the chosen labels and images as
one zip of images, masks and a JSON manifest, for training pipelines.

Layout::

    manifest.json
    images/<series uid>.nii.gz                        the image volume (main stack)
    masks/<series uid>/<label id>-<label>-v<version>.nii.gz   uint8 0/1 on the image's grid

NIfTI files are `annotation.nifti`'s (data (x, y, z) = (column, row, slice), affine voxel
centre → RAS mm). The manifest names, per image, the SOP instance (and frame) of each
slice, so a mask can also be laid on the DICOM without our sorting; per annotation its
label, version, author, reviewer and dates.

Final means accepted: per label on an image, its highest accepted version. The zip is
written entry by entry to a file (`export_dataset_file`: a temporary file under the data
directory, which the caller streams and deletes), so only one image is in memory at a time.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, col, func, select

from labelstack.annotation import nifti
from labelstack.annotation.codec import decode_mask, shape_from_text
from labelstack.db.enums import AnnotationStatus, AuditAction, Role
from labelstack.db.models import Annotation, Label, LabelAssignment, Series, Study, User
from labelstack.db.types import utcnow
from labelstack.imaging.volume import main_stack_frames
from labelstack.services import audit
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict, NotFound
from labelstack.services.exports.seg import Provenance, provenance, software_version
from labelstack.services.images import runtime
from labelstack.services.images.shape import instance_keys
from labelstack.services.images.view import load_volume
from labelstack.services.security import require_role
from labelstack.stores import StoreError

Progress = Callable[[int, int], None]  # (files written, files in all)
MANIFEST_FORMAT = "labelstack-dataset/1"
MAX_AUDIT_IDS = 1000


@dataclass(frozen=True, kw_only=True, slots=True)
class DatasetItem:
    annotation: Annotation
    label: Label
    series: Series
    study: Study
    provenance: Provenance


@dataclass(kw_only=True, slots=True)
class DatasetPlan:
    items: list[DatasetItem]
    label_ids: list[int] | None
    series_ids: list[int] | None

    @property
    def series(self) -> list[Series]:
        return list({item.series.id: item.series for item in self.items}.values())

    def files(self, *, images: bool) -> int:
        return len(self.items) + (len(self.series) if images else 0)


def plan_dataset(session: Session, *, actor: User | None, label_ids: Sequence[int] | None = None,
                 series_ids: Sequence[int] | None = None) -> DatasetPlan:
    """What an export of these labels and images (None: all) holds; Conflict when nothing
    there is final yet. Admins only (`actor=None`: the CLI)."""
    if actor is not None:
        require_role(actor, Role.admin)
    labels = _existing(session, Label, label_ids, "label")
    series_filter = _existing(session, Series, series_ids, "image")
    query = (select(Annotation, LabelAssignment, Label, Series)
             .join(LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
             .join(Label, col(Label.id) == LabelAssignment.label_id)
             .join(Series, col(Series.id) == LabelAssignment.series_id)
             .where(Annotation.status == AnnotationStatus.accepted))
    if labels is not None:
        query = query.where(col(LabelAssignment.label_id).in_(labels))
    if series_filter is not None:
        query = query.where(col(LabelAssignment.series_id).in_(series_filter))
    latest: dict[int, tuple[Annotation, Label, Series]] = {}
    for annotation, pair, label, series in session.exec(
            query.order_by(col(Series.id), col(Label.name), col(Annotation.version))).all():
        latest[pair.id or 0] = (annotation, label, series)  # the highest version wins
    rows = list(latest.values())
    if not rows:
        raise Conflict("nothing final to export: no accepted annotations for the chosen "
                       "labels and images", label_ids=labels, series_ids=series_filter)
    parts = provenance(session, [a for a, *_ in rows])
    studies = {study.id: study for study in session.exec(select(Study).where(
        col(Study.id).in_({series.study_id for _, _, series in rows}))).all()}
    items = [DatasetItem(annotation=a, label=label, series=series, study=studies[series.study_id],
                         provenance=p)
             for (a, label, series), p in zip(rows, parts, strict=True)]
    return DatasetPlan(items=items, label_ids=labels, series_ids=series_filter)


def write_dataset(session: Session, plan: DatasetPlan, out: IO[bytes], *, images: bool = True,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Write the zip to `out` (a file; need not be seekable) and return the manifest."""
    total, done = plan.files(images=images), 0
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT, "created_at": _iso(utcnow()), "software": software_version(),
        "geometry": "NIfTI, data (x, y, z) = (column, row, slice) of the main stack; the "
                    "affine maps voxel centres to RAS mm; masks uint8 0/1",
        "labels": [], "images": [], "annotations": []}
    labels: dict[int, Label] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for series in plan.series:
            items = [i for i in plan.items if i.series.id == series.id]
            volume = load_volume(session, series.series_uid)
            entry = _image_entry(session, series, items[0].study, volume.shape, volume.spacing)
            if images:
                entry["image"] = f"images/{series.series_uid}.nii.gz"
                archive.writestr(entry["image"], nifti.image_nifti(
                    volume, description=f"LabelStack image {series.series_uid}"[:80]))
                done += 1
                _report(progress, done, total)
            manifest["images"].append(entry)
            for item in items:
                labels[item.label.id or 0] = item.label
                manifest["annotations"].append(_write_mask(session, archive, item, volume))
                done += 1
                _report(progress, done, total)
        manifest["labels"] = [{"id": label.id, "name": label.name, "color": label.color,
                               "description": label.description}
                              for label in sorted(labels.values(), key=lambda lb: lb.name)]
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False),
                         compress_type=zipfile.ZIP_DEFLATED)
    return manifest


def export_dataset(session: Session, *, actor: User | None, out: IO[bytes],
                   label_ids: Sequence[int] | None = None, series_ids: Sequence[int] | None = None,
                   images: bool = True, progress: Progress | None = None) -> dict[str, Any]:
    """Plan, write and audit one export (see the module docstring)."""
    plan = plan_dataset(session, actor=actor, label_ids=label_ids, series_ids=series_ids)
    manifest = write_dataset(session, plan, out, images=images, progress=progress)
    ids = [item.provenance.annotation_id for item in plan.items]
    audit.record(session, actor=actor, action=AuditAction.dataset_export, entity_type="dataset",
                 entity_id=None, details={
                     "label_ids": plan.label_ids, "series_ids": plan.series_ids, "images": images,
                     "annotations": len(ids), "image_count": len(plan.series),
                     "annotation_ids": ids[:MAX_AUDIT_IDS]})
    session.commit()
    return manifest


def export_dataset_file(session: Session, *, actor: User | None,
                        label_ids: Sequence[int] | None = None,
                        series_ids: Sequence[int] | None = None, images: bool = True,
                        progress: Progress | None = None,
                        directory: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The export as a zip file under `directory` (default: `<data dir>/exports`), which the
    caller owns (streams, moves or deletes). Nothing is left behind when it fails."""
    plan_dataset(session, actor=actor, label_ids=label_ids, series_ids=series_ids)  # fail early
    folder = directory or runtime.current_settings().data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix="dataset-", suffix=".zip")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            manifest = export_dataset(session, actor=actor, out=out, label_ids=label_ids,
                                      series_ids=series_ids, images=images, progress=progress)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, manifest


def label_ids_for(session: Session, names_or_ids: Sequence[str]) -> list[int]:
    """Labels named on a command line, by id or by name (ignoring case); NotFound otherwise."""
    out = []
    for text in names_or_ids:
        found = session.get(Label, int(text)) if text.strip().isdigit() else session.exec(
            select(Label).where(func.lower(Label.name) == text.strip().lower())).first()
        if found is None or found.id is None:
            raise NotFound(f"no label {text!r}")
        out.append(found.id)
    return out


def series_ids_for(session: Session, series_uids: Sequence[str]) -> list[int]:
    """Images named by series UID; NotFound for one not in the index."""
    out = []
    for uid in series_uids:
        found = session.exec(select(Series).where(Series.series_uid == uid.strip())).first()
        if found is None or found.id is None:
            raise NotFound(f"no series {uid!r} in the index")
        out.append(found.id)
    return out


def _write_mask(session: Session, archive: zipfile.ZipFile, item: DatasetItem,
                volume: Any) -> dict[str, Any]:
    annotation, p = item.annotation, item.provenance
    assert annotation.id is not None  # loaded from the database
    revision = reads.latest_revision(session, annotation.id)
    if revision is None:  # accepted work always has a revision; say so if not
        raise Conflict(f"accepted annotation {annotation.id} has no saved mask")
    mask = decode_mask(revision.mask, shape_from_text(revision.shape))
    if mask.shape != volume.shape[:3]:
        raise Conflict(f"annotation {annotation.id} is {mask.shape}, its image "
                       f"{item.series.series_uid} now {volume.shape[:3]}: the image changed")
    path = (f"masks/{item.series.series_uid}/{item.label.id}-{_slug(item.label.name)}"
            f"-v{annotation.version}.nii.gz")
    archive.writestr(path, nifti.mask_nifti(mask, volume, description=(
        f"LabelStack {item.label.name} v{annotation.version}")[:80]))
    return {"annotation_id": annotation.id, "series_uid": item.series.series_uid,
            "study_uid": item.study.study_uid, "label_id": item.label.id, "label": item.label.name,
            "version": annotation.version, "status": p.status, "author": p.author,
            "reviewer": p.reviewer, "review_result": p.review_result,
            "created_at": _iso(p.created_at), "updated_at": _iso(p.updated_at),
            "reviewed_at": _iso(p.reviewed_at), "revision": revision.sequence,
            "content_hash": revision.content_hash, "voxels": int(mask.sum()), "mask": path}


def _image_entry(session: Session, series: Series, study: Study, shape: tuple[int, ...],
                 spacing: tuple[float, float, float]) -> dict[str, Any]:
    keys = instance_keys(session, series.id)
    try:
        headers = runtime.store(series.store).read_headers(keys)
    except StoreError as exc:
        raise Conflict(str(exc)) from None
    slices = [{"sop_instance_uid": str(headers[source].SOPInstanceUID), "frame": frame + 1}
              for source, frame in main_stack_frames(headers)]
    return {"series_uid": series.series_uid, "study_uid": study.study_uid,
            "patient_id": study.patient_id, "modality": series.modality,
            "series_description": series.series_description,
            "shape_zyx": list(shape[:3]), "spacing_zyx_mm": list(spacing), "slices": slices}


def _existing(session: Session, table: type[Label] | type[Series], ids: Sequence[int] | None,
              what: str) -> list[int] | None:
    if ids is None:
        return None
    wanted = list(dict.fromkeys(ids))
    found = set(session.exec(select(table.id).where(col(table.id).in_(wanted))).all())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"{what}(s) not found: {missing}", missing=missing)
    return wanted


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] or "label"
