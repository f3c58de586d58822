"""Agreement between annotations of one image: one pair on request, and per label across the
project for the statistics page. The metrics are `annotation.agreement`'s (Dice, Jaccard,
volumes, HD95, ASSD in mm with the image's spacing; see that module for empty masks).

Which masks. Each annotation counts as it stands: its last revision plus any acknowledged
edits not yet saved (`editing.mask_now`, what `GET /annotations/{id}/mask` returns). Work that
was handed in (submitted, in review, accepted, rejected or corrected) has no pending edits:
it is its last revision. The read rule is the annotations' (`reads.read_annotation`); the
image's spacing comes from its volume without the viewer's rule, as an export's geometry does:
no pixel of the image leaves.

Per label. Every pair of handed-in annotations (versions, by one author or several) of the
same label assignment that the caller may read counts once, the earlier version as `a`; the
label's entry has the mean and spread of each metric over its pairs. Drafts and annotations
with nothing saved are left out. Cost: every mask of an assignment is decoded and every image
volume loaded (cached) once per call.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from sqlmodel import Session, col, select

from labelstack.annotation import agreement as metrics
from labelstack.annotation.agreement import Agreement, Spread
from labelstack.db.enums import AnnotationStatus
from labelstack.db.models import Annotation, AnnotationRevision, Label, LabelAssignment, Series, User
from labelstack.imaging.volume import Volume
from labelstack.services.annotations import editing, journal, reads
from labelstack.services.errors import Conflict, InvalidInput, ServiceError, get_or_not_found
from labelstack.services.images.view import load_volume

HANDED_IN = (AnnotationStatus.submitted, AnnotationStatus.in_review, AnnotationStatus.accepted,
             AnnotationStatus.rejected, AnnotationStatus.corrected)


@dataclass(frozen=True, kw_only=True, slots=True)
class PairAgreement:
    a: int
    b: int
    series_uid: str
    metrics: Agreement


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelAgreement:
    label_id: int
    label: str
    annotations: int  # handed-in annotations of this label the caller may read
    images: int  # label assignments (images) with at least one pair
    pairs: int
    skipped: int  # annotations left out: their image or mask could not be read
    dice: Spread
    jaccard: Spread
    volume_difference_ml: Spread
    hd95_mm: Spread
    assd_mm: Spread


def pair_agreement(session: Session, *, actor: User, a: int, b: int) -> PairAgreement:
    """Metrics for annotations `a` and `b`: 404/403 as reading them, 422 on different images,
    409 when a mask does not fit the image (or the image cannot be read)."""
    first = reads.read_annotation(session, actor=actor, annotation_id=a)
    second = reads.read_annotation(session, actor=actor, annotation_id=b)
    series_a, series_b = reads.image_of(session, first), reads.image_of(session, second)
    if series_a.id != series_b.id:
        raise InvalidInput(f"annotations {a} and {b} are on different images ({series_a.series_uid} "
                           f"and {series_b.series_uid}): agreement compares masks of one image",
                           series_uids=[series_a.series_uid, series_b.series_uid])
    volume = load_volume(session, series_a.series_uid)
    masks = [editing.mask_now(session, actor=actor, annotation_id=i) for i in (a, b)]
    for number, mask in zip((a, b), masks, strict=True):
        _require_fit(number, mask, volume)
    return PairAgreement(a=a, b=b, series_uid=series_a.series_uid,
                         metrics=_compare(masks[0], masks[1], volume))


def label_agreement(session: Session, *, actor: User, label_id: int | None = None) -> list[LabelAgreement]:
    """Per label, agreement over every pair of handed-in versions of one assignment."""
    query = (select(Annotation, LabelAssignment, Label, Series)
             .join(LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
             .join(Label, col(Label.id) == LabelAssignment.label_id)
             .join(Series, col(Series.id) == LabelAssignment.series_id)
             .where(reads.readable_by(actor), col(Annotation.status).in_(HANDED_IN),
                    col(Annotation.id).in_(select(AnnotationRevision.annotation_id))))
    labels: dict[int, Label] = {}
    if label_id is not None:  # that label's entry, even without pairs
        labels[label_id] = get_or_not_found(session, Label, label_id, "label")
        query = query.where(Label.id == label_id)
    rows = session.exec(query.order_by(col(Label.name), col(LabelAssignment.id),
                                       col(Annotation.version), col(Annotation.id))).all()
    groups: dict[int, dict[int, list[Annotation]]] = defaultdict(lambda: defaultdict(list))
    series_of: dict[int, Series] = {}
    for annotation, assignment, label, series in rows:
        assert label.id is not None and assignment.id is not None
        labels[label.id] = label
        series_of[assignment.id] = series
        groups[label.id][assignment.id].append(annotation)
    out = []
    for lid, label in labels.items():
        results: list[Agreement] = []
        images = skipped = 0
        for assignment_id, versions in groups[lid].items():
            if len(versions) < 2:
                continue
            pairs, lost = _assignment_pairs(session, series_of[assignment_id], versions)
            results += pairs
            skipped += lost
            images += bool(pairs)
        out.append(LabelAgreement(
            label_id=lid, label=label.name, annotations=sum(map(len, groups[lid].values())),
            images=images, pairs=len(results), skipped=skipped,
            dice=metrics.spread(r.dice for r in results),
            jaccard=metrics.spread(r.jaccard for r in results),
            volume_difference_ml=metrics.spread(r.volume_difference_ml for r in results),
            hd95_mm=metrics.spread(r.hd95_mm for r in results),
            assd_mm=metrics.spread(r.assd_mm for r in results)))
    return out


def _assignment_pairs(session: Session, series: Series,
                      versions: list[Annotation]) -> tuple[list[Agreement], int]:
    """Every pair's metrics, and how many of the versions could not take part."""
    try:
        volume = load_volume(session, series.series_uid)
    except ServiceError:
        return [], len(versions)
    masks: list[np.ndarray] = []
    for annotation in versions:
        try:
            mask = journal.current_mask(session, annotation)[0]
            _require_fit(annotation.id or 0, mask, volume)
        except (ServiceError, ValueError):
            continue
        masks.append(mask)
    pairs = [_compare(a, b, volume) for a, b in combinations(masks, 2)]
    return pairs, len(versions) - len(masks)


def _compare(a: np.ndarray, b: np.ndarray, volume: Volume) -> Agreement:
    return metrics.compare(a, b, volume.spacing, planar=volume.kind != "volume")


def _require_fit(annotation_id: int, mask: np.ndarray, volume: Volume) -> None:
    if mask.shape != volume.pixels.shape[:3]:
        raise Conflict(f"annotation {annotation_id}'s mask {mask.shape} does not fit its image "
                       f"{volume.pixels.shape[:3]} (z, y, x)")

