"""DICOM SEG out of LabelStack and back in: download, store to the image's store (the PACS),
import a SEG made elsewhere as the first version of its labels.

A SEG holds one image and the chosen annotations on it, one segment per label (see
`annotation/seg.py` for the object itself). The mask of an annotation is its latest saved
revision; strokes still only in the edit journal are not part of it.

UIDs are derived from what the SEG says (image, annotations, revisions, review state), so
the same content exported twice is the same SEG, and storing it again changes nothing.

A stored SEG is indexed like any instance of its store: a series of modality SEG in the
image's study (a derived series; its Referenced Series names the image). Series search lists
it with that modality; it is not an image to label, and the viewer decodes it as a 0/1 stack
at most. A SEG already in the store (made by another tool, or by us) is imported from there
by its series UID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata

import numpy as np
from pydicom.uid import generate_uid
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelstack.annotation import seg as seg_io
from labelstack.annotation.codec import content_hash, decode_mask, encode_mask, shape_from_text, shape_to_text
from labelstack.db.enums import AnnotationStatus, AuditAction, Role
from labelstack.db.models import (
    Annotation,
    AnnotationRevision,
    Instance,
    Label,
    LabelAssignment,
    Review,
    Series,
    User,
)
from labelstack.imaging.dataset import Dataset
from labelstack.services import audit
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict, InvalidInput, NotFound
from labelstack.services.exports.export_file import ExportFile
from labelstack.services.images import runtime
from labelstack.services.images.access import require_series_reader
from labelstack.services.images.index import upsert_entry
from labelstack.services.images.shape import instance_keys, refresh_shape
from labelstack.services.security import require_role
from labelstack.stores import IndexEntry, StoreError

MAX_SEGMENTS = 255
SEG_MODALITY = "SEG"


@dataclass(frozen=True, kw_only=True, slots=True)
class Provenance:
    """Who made an annotation and what review decided, for SEG headers and manifests."""

    annotation_id: int
    label: str
    version: int
    status: str
    author: str
    created_at: datetime
    updated_at: datetime
    reviewer: str = ""
    review_result: str = ""
    reviewed_at: datetime | None = None

    @property
    def decision(self) -> str:
        if self.review_result:
            return f"{self.review_result} by {self.reviewer}" if self.reviewer else self.review_result
        return "not reviewed"

    @property
    def summary(self) -> str:
        """E.g. "Lung v2 by Ann Author, accepted by Rev Smith"."""
        by = f" by {self.author}" if self.author else ""
        return f"{self.label} v{self.version}{by}, {self.decision}"


@dataclass(kw_only=True, slots=True)
class StoredSeg:
    status: str  # "stored" | "present" (the same SEG was stored before)
    store: str
    series_uid: str  # the SEG's own series
    sop_instance_uid: str
    series_id: int | None  # the SEG series in the index
    image_series_uid: str
    annotation_ids: list[int]


@dataclass(kw_only=True, slots=True)
class ImportedSegment:
    number: int
    segment_label: str
    label_id: int
    label: str
    label_created: bool
    label_assignment_id: int
    annotation_id: int
    voxels: int


@dataclass(kw_only=True, slots=True)
class SegImport:
    series_uid: str  # the image the SEG was made on
    seg_sop_instance_uid: str
    segments: list[ImportedSegment] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class _Prepared:
    series: Series
    seg: Dataset
    data: bytes
    parts: list[Provenance]


# --- out ---------------------------------------------------------------------------------


def export_seg(session: Session, *, actor: User | None, annotation_id: int) -> ExportFile:
    """One annotation as a DICOM SEG (`actor=None`: the CLI, no permission check)."""
    return export_segs(session, actor=actor, annotation_ids=[annotation_id])


def export_segs(session: Session, *, actor: User | None,
                annotation_ids: Sequence[int]) -> ExportFile:
    """Several annotations of one image, one per label, as one DICOM SEG. The caller must
    be able to read each annotation and to view the image (the SEG carries its patient)."""
    prepared = _prepare(session, actor, annotation_ids)
    labels = "-".join(_slug(p.label) for p in prepared.parts)[:80]
    return ExportFile(prepared.data, "application/dicom",
                            f"seg-{prepared.series.id}-{labels}.dcm")


def store_seg(session: Session, *, actor: User | None, annotation_ids: Sequence[int]) -> StoredSeg:
    """Admin: store the SEG of these annotations in the image's store (STOW-RS to the PACS
    when the image lives there) and index it as a derived series of the image. A store that
    refuses or is down changes nothing here but an audit event saying so."""
    if actor is not None:
        require_role(actor, Role.admin)
    prepared = _prepare(session, actor, annotation_ids)
    seg, series = prepared.seg, prepared.series
    result = StoredSeg(status="present", store=series.store, series_uid=str(seg.SeriesInstanceUID),
                       sop_instance_uid=str(seg.SOPInstanceUID), series_id=None,
                       image_series_uid=series.series_uid,
                       annotation_ids=[p.annotation_id for p in prepared.parts])
    known = session.exec(select(Instance).where(
        Instance.sop_instance_uid == result.sop_instance_uid)).first()
    if known is not None:
        result.series_id = known.series_id
        return result
    details = {"annotation_ids": result.annotation_ids, "image_series_uid": series.series_uid,
               "seg_series_uid": result.series_uid, "seg_sop_instance_uid": result.sop_instance_uid,
               "store": series.store, "bytes": len(prepared.data)}
    try:
        store = runtime.store(series.store)
        key = store.put(seg, prepared.data)
    except (StoreError, OSError) as exc:
        session.rollback()
        audit.record(session, actor=actor, action=AuditAction.seg_store, entity_type="series",
                     entity_id=series.id, details={**details, "outcome": "failed",
                                                   "reason": str(exc)[:500]})
        session.commit()
        raise Conflict(f"the image store ({series.store}) did not take the SEG: {exc}") from None
    try:
        with session.begin_nested():
            upsert_entry(session, IndexEntry.of(seg, store_key=key, file_size=len(prepared.data)),
                         store=store.name)
    except IntegrityError:  # indexed meanwhile (a sync, a second click): the same SEG
        pass
    else:
        result.status = "stored"
    seg_series = session.exec(select(Series).where(Series.series_uid == result.series_uid)).one()
    refresh_shape(session, seg_series, store)
    result.series_id = seg_series.id
    audit.record(session, actor=actor, action=AuditAction.seg_store, entity_type="series",
                 entity_id=series.id, details={**details, "outcome": result.status,
                                               "seg_series_id": seg_series.id})
    session.commit()
    return result


def provenance(session: Session, annotations: Sequence[Annotation]) -> list[Provenance]:
    """Label, author and the latest review decision of each annotation, in order."""
    ids = [a.id for a in annotations if a.id is not None]
    rows = session.exec(select(Annotation, Label).join(
        LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
        .join(Label, col(Label.id) == LabelAssignment.label_id)
        .where(col(Annotation.id).in_(ids))).all()
    labels = {a.id: label.name for a, label in rows}
    reviews: dict[int, Review] = {}
    for review in session.exec(select(Review).where(col(Review.annotation_id).in_(ids),
                                                    col(Review.result).is_not(None))
                               .order_by(col(Review.sequence))).all():
        reviews[review.annotation_id] = review  # the latest decided one wins
    people = {u.id: u.display_name for u in session.exec(select(User).where(col(User.id).in_(
        [a.author_id for a in annotations] + [r.reviewer_id for r in reviews.values()]))).all()}
    out = []
    for a in annotations:
        assert a.id is not None  # loaded from the database
        decided = reviews.get(a.id)
        out.append(Provenance(
            annotation_id=a.id, label=labels.get(a.id, ""), version=a.version, status=str(a.status),
            author=people.get(a.author_id, "") if a.author_id else "", created_at=a.created_at,
            updated_at=a.updated_at,
            reviewer=people.get(decided.reviewer_id, "") if decided and decided.reviewer_id else "",
            review_result=str(decided.result) if decided and decided.result else "",
            reviewed_at=decided.decided_at if decided else None))
    return out


def _prepare(session: Session, actor: User | None, annotation_ids: Sequence[int]) -> _Prepared:
    ids = list(dict.fromkeys(annotation_ids))
    if not ids:
        raise InvalidInput("choose at least one annotation for the SEG")
    if len(ids) > MAX_SEGMENTS:
        raise InvalidInput(f"a SEG holds at most {MAX_SEGMENTS} segments")
    annotations = [reads.read_annotation(session, actor=actor, annotation_id=i) if actor
                   else reads.get_annotation(session, i) for i in ids]
    assignments = {a.id: session.get(LabelAssignment, a.label_assignment_id) for a in annotations}
    series_ids = {pair.series_id for pair in assignments.values() if pair is not None}
    if len(series_ids) != 1:
        raise InvalidInput("one SEG holds one image: these annotations are on "
                           f"{len(series_ids)} images", series_ids=sorted(series_ids))
    series = session.get(Series, series_ids.pop())
    if series is None:
        raise NotFound("the image of these annotations is gone")
    if actor is not None:
        require_series_reader(session, actor=actor, series_uid=series.series_uid)
    if series.modality == SEG_MODALITY:
        raise InvalidInput(f"series {series.series_uid} is itself a SEG, not an image")
    labels: dict[int, Label] = {}
    for pair in assignments.values():
        label = session.get(Label, pair.label_id) if pair is not None else None
        if label is None or label.id is None:
            raise NotFound("the label of an annotation is gone")
        labels[label.id] = label
    by_label: dict[int, list[int]] = {}
    for a in annotations:
        pair = assignments[a.id]
        assert pair is not None and a.id is not None  # both loaded above
        by_label.setdefault(pair.label_id, []).append(a.id)
    twice = {labels[k].name: v for k, v in by_label.items() if len(v) > 1}
    if twice:
        raise InvalidInput("one segment per label: choose one version of "
                           + ", ".join(repr(name) for name in twice), annotation_ids=twice)
    parts = provenance(session, annotations)
    segments, revisions = [], []
    for a, part in zip(annotations, parts, strict=True):
        assert a.id is not None
        revision = reads.latest_revision(session, a.id)
        if revision is None:
            raise Conflict(f"annotation {a.id} ({part.label} v{a.version}) has nothing saved yet")
        pair = assignments[a.id]
        assert pair is not None  # checked above
        label = labels[pair.label_id]
        revisions.append(revision)
        segments.append(seg_io.Segment(label=label.name, color=label.color,
                                       description=label.description,
                                       mask=decode_mask(revision.mask, shape_from_text(revision.shape))))
    sources = _headers(session, series)
    content = [series.series_uid] + [f"{p.annotation_id}:{r.sequence}:{r.content_hash}:{p.status}:"
                                     f"{p.decision}" for p, r in zip(parts, revisions, strict=True)]
    header = seg_io.SegHeader(
        series_uid=_uid("labelstack-seg-series", *content),
        sop_uid=_uid("labelstack-seg-instance", *content),
        series_description=_series_description(parts),
        content_creator=next((p.author for p in parts if p.author), ""),
        content_description="; ".join(p.summary for p in parts),
        content_label=parts[0].label if len(parts) == 1 else "LABELSTACK",
        software_version=software_version())
    try:
        seg = seg_io.build_seg(sources, segments, header)
    except seg_io.SegUnsupported as exc:
        raise InvalidInput(str(exc)) from None
    except seg_io.SegError as exc:
        raise Conflict(f"cannot make the SEG of image {series.series_uid}: {exc}") from None
    return _Prepared(series=series, seg=seg, data=seg_io.encode_seg(seg), parts=parts)


def _headers(session: Session, series: Series) -> list[Dataset]:
    """The image's instance headers (no pixel data) from its store, in index order."""
    keys = instance_keys(session, series.id)
    if not keys:
        raise NotFound(f"series {series.series_uid} has no instances")
    try:
        return runtime.store(series.store).read_headers(keys)
    except StoreError as exc:
        raise Conflict(str(exc)) from None


def _uid(*sources: str) -> str:
    """A UID under pydicom's root that depends only on `sources`."""
    return str(generate_uid(entropy_srcs=list(sources)))


def _series_description(parts: list[Provenance]) -> str:
    if len(parts) == 1:
        p = parts[0]
        return f"{p.label} v{p.version} · {p.decision}"
    return "LabelStack SEG: " + ", ".join(f"{p.label} v{p.version}" for p in parts)


def software_version() -> str:
    try:
        return metadata.version("labelstack")
    except metadata.PackageNotFoundError:
        return "0"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_") or "label"


# --- in ----------------------------------------------------------------------------------


def import_seg(session: Session, *, actor: User | None, data: bytes, series_uid: str | None = None,
               create_labels: bool = False) -> SegImport:
    """Admin: a SEG file made elsewhere becomes the first version of each of its labels on
    the image it was made on (see `_import`)."""
    if actor is not None:
        require_role(actor, Role.admin)
    try:
        seg = seg_io.parse_seg(data)
    except seg_io.SegError as exc:
        raise InvalidInput(str(exc)) from None
    return _import(session, actor, seg, series_uid=series_uid, create_labels=create_labels,
                   origin={"source": "upload", "bytes": len(data)})


def import_stored_seg(session: Session, *, actor: User | None, seg_series_uid: str,
                      create_labels: bool = False) -> SegImport:
    """Admin: the SEG series `seg_series_uid` already in the store (indexed; a sync brings in
    what other tools stored) becomes the first version of its labels."""
    if actor is not None:
        require_role(actor, Role.admin)
    seg_series = session.exec(select(Series).where(Series.series_uid == seg_series_uid)).first()
    if seg_series is None:
        raise NotFound(f"no series {seg_series_uid} in the index (sync the PACS first?)")
    if seg_series.modality != SEG_MODALITY:
        raise InvalidInput(f"series {seg_series_uid} is {seg_series.modality or 'not a SEG'}, "
                           "not a DICOM SEG")
    keys = instance_keys(session, seg_series.id)
    if len(keys) != 1:
        raise InvalidInput(f"SEG series {seg_series_uid} holds {len(keys)} instances; import "
                           "them one by one as files")
    try:
        (ds,) = runtime.store(seg_series.store).read(keys)
    except StoreError as exc:
        raise Conflict(str(exc)) from None
    try:
        seg = seg_io.parse_seg(ds)
    except seg_io.SegError as exc:
        raise InvalidInput(str(exc)) from None
    return _import(session, actor, seg, series_uid=None, create_labels=create_labels,
                   origin={"source": "store", "store": seg_series.store,
                           "seg_series_uid": seg_series_uid})


def _import(session: Session, actor: User | None, seg: Dataset, *, series_uid: str | None,
            create_labels: bool, origin: dict[str, object]) -> SegImport:
    """Everything is checked before anything is written, and written in one transaction:
    a SEG that does not fit changes nothing."""
    series = _target_series(session, seg, series_uid)
    try:
        decoded = seg_io.read_segments(seg, _headers(session, series))  # type: ignore[arg-type]
    except seg_io.SegError as exc:
        raise InvalidInput(f"this SEG does not fit image {series.series_uid}: {exc}") from None
    shape = (series.number_of_frames, series.rows, series.columns)
    if decoded and decoded[0].mask.shape != shape:
        raise Conflict(f"the index gives image {series.series_uid} the size {shape}, its "
                       f"instances {decoded[0].mask.shape}: sync the index first")
    plan = _plan_labels(session, decoded, series, create_labels)
    report = SegImport(series_uid=series.series_uid, seg_sop_instance_uid=str(seg.SOPInstanceUID))
    try:
        for segment, label in plan:
            report.segments.append(_first_version(session, actor, series, segment, label))
        audit.record(session, actor=actor, action=AuditAction.seg_import, entity_type="series",
                     entity_id=series.id, details={
                         **origin, "image_series_uid": series.series_uid,
                         "seg_series_uid": str(seg.get("SeriesInstanceUID", "")),
                         "seg_sop_instance_uid": report.seg_sop_instance_uid,
                         "seg_manufacturer": str(seg.get("Manufacturer", ""))[:64],
                         "seg_content_creator": str(seg.get("ContentCreatorName", ""))[:64],
                         "segments": [{"number": s.number, "label": s.label,
                                       "label_created": s.label_created,
                                       "annotation_id": s.annotation_id, "voxels": s.voxels}
                                      for s in report.segments]})
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("someone changed these labels at the same time; try again") from None
    except BaseException:
        session.rollback()
        raise
    return report


def _target_series(session: Session, seg: Dataset, series_uid: str | None) -> Series:
    wanted = [series_uid] if series_uid else seg_io.referenced_series_uids(seg)
    if not wanted:
        raise InvalidInput("the SEG names no image series (no Referenced Series Sequence): "
                           "say which series it belongs to")
    for uid in wanted:
        series = session.exec(select(Series).where(Series.series_uid == uid)).first()
        if series is not None:
            if series.modality == SEG_MODALITY:
                raise InvalidInput(f"series {uid} is itself a SEG, not an image")
            return series
    if series_uid:
        raise NotFound(f"no series {series_uid} in the index")
    raise NotFound(f"the SEG was made on series {', '.join(wanted)}, which is not in the index: "
                   "import or sync that image first")


def _plan_labels(session: Session, decoded: list[seg_io.DecodedSegment], series: Series,
                 create_labels: bool) -> list[tuple[seg_io.DecodedSegment, Label | None]]:
    """Each segment with its label (None: to be created), or InvalidInput/Conflict naming
    every segment that cannot be imported."""
    if not decoded:
        raise InvalidInput("the SEG has no segments")
    seen: dict[str, int] = {}
    for segment in decoded:
        if not segment.label:
            raise InvalidInput(f"segment {segment.number} of the SEG has no label")
        key = _name_key(segment.label)
        if key in seen:
            raise InvalidInput(f"segments {seen[key]} and {segment.number} are both labelled "
                               f"{segment.label!r}: one version per label")
        seen[key] = segment.number
    labels = {_name_key(label.name): label for label in session.exec(select(Label)).all()}
    plan = [(segment, labels.get(_name_key(segment.label))) for segment in decoded]
    unknown = [s.label for s, label in plan if label is None]
    if unknown and not create_labels:
        raise InvalidInput("no label named " + ", ".join(repr(n) for n in unknown)
                           + ": create them first, or import with create_labels",
                           unknown_labels=unknown)
    archived = [label.name for _, label in plan if label is not None and label.archived]
    if archived:
        raise Conflict("archived labels take no new work: " + ", ".join(repr(n) for n in archived))
    drawn = []
    for _, label in plan:
        if label is None:
            continue
        versions = session.exec(select(func.count()).select_from(Annotation).join(
            LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
            .where(LabelAssignment.label_id == label.id,
                   LabelAssignment.series_id == series.id)).one()
        if versions:
            drawn.append(f"{label.name!r} ({versions} version(s))")
    if drawn:
        raise Conflict("a SEG import makes only the first version of a label, and these labels "
                       "already have annotations on this image: " + ", ".join(drawn))
    return plan


def _first_version(session: Session, actor: User | None, series: Series,
                   segment: seg_io.DecodedSegment, label: Label | None) -> ImportedSegment:
    """Label (if new), assignment (if missing), version 1 awaiting review, its revision."""
    created = label is None
    if label is None:
        label = Label(name=segment.label[:100], color=segment.color or "#ff0000",
                      description=segment.description[:1000])
        session.add(label)
        session.flush()
        audit.record(session, actor=actor, action=AuditAction.label_create, entity_type="label",
                     entity_id=label.id, details={"name": label.name, "color": label.color,
                                                  "description": label.description,
                                                  "source": "seg.import"})
    assert label.id is not None and series.id is not None  # flushed / loaded
    pair = session.exec(select(LabelAssignment).where(LabelAssignment.label_id == label.id,
                                                      LabelAssignment.series_id == series.id)).first()
    if pair is None:
        pair = LabelAssignment(label_id=label.id, series_id=series.id,
                               created_by_id=actor.id if actor else None)
        session.add(pair)
        session.flush()
        audit.record(session, actor=actor, action=AuditAction.label_assign, entity_type="label",
                     entity_id=label.id, details={"created": [series.id], "existing": [],
                                                  "task_id": None, "source": "seg.import"})
    assert pair.id is not None
    author_id = actor.id if actor else None
    annotation = Annotation(label_assignment_id=pair.id, version=1, author_id=author_id,
                            task_id=None, status=AnnotationStatus.submitted)
    session.add(annotation)
    session.flush()
    assert annotation.id is not None
    mask = np.ascontiguousarray(segment.mask)
    digest = content_hash(mask)
    session.add(AnnotationRevision(annotation_id=annotation.id, sequence=1, author_id=author_id,
                                   content_hash=digest, shape=shape_to_text(mask.shape),
                                   mask=encode_mask(mask)))
    audit.record(session, actor=actor, action=AuditAction.annotation_create, entity_type="annotation",
                 entity_id=annotation.id, details={
                     "label_assignment_id": pair.id, "version": 1, "author_id": author_id,
                     "task_id": None, "source": "seg.import", "content_hash": digest})
    return ImportedSegment(number=segment.number, segment_label=segment.label, label_id=label.id,
                           label=label.name, label_created=created, label_assignment_id=pair.id,
                           annotation_id=annotation.id, voxels=int(mask.sum()))


def _name_key(name: str) -> str:
    """Labels match segments by name, ignoring case, and as far as a SEG keeps it (64 chars)."""
    return name.strip()[:64].casefold()
