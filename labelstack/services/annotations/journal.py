"""The edit journal: every acknowledged change is durable before its acknowledgement.

An entry holds the new content of the box a change touched, so replaying entries in order
on top of the latest revision rebuilds the mask whatever produced them (a stroke, a shape,
an undo), and replaying entries already folded into a revision changes nothing.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.annotation.codec import decode_mask, encode_mask, shape_from_text
from labelstack.annotation.raster import Box3
from labelstack.db.models import Annotation, AnnotationEdit, User
from labelstack.services.annotations import reads


def append(session: Session, *, annotation_id: int, sequence: int, author: User, kind: str,
           box: Box3, content: np.ndarray, active_seconds: float = 0.0) -> AnnotationEdit:
    """Add entry `sequence` (flushed, not committed): `content` is the box's new voxels. The
    editor numbers its entries itself, on from the last it acknowledged, so numbers never
    restart after a fold; only the lease holder writes, and the unique key backs that up."""
    entry = AnnotationEdit(annotation_id=annotation_id, sequence=sequence,
                           author_id=author.id, kind=kind, box=",".join(map(str, box)),
                           bits=encode_mask(np.ascontiguousarray(content)),
                           active_seconds=active_seconds)
    session.add(entry)
    session.flush()
    return entry


def pending(session: Session, annotation_id: int) -> list[AnnotationEdit]:
    """Entries not yet folded into a revision, oldest first."""
    return list(session.exec(select(AnnotationEdit).where(
        AnnotationEdit.annotation_id == annotation_id).order_by(col(AnnotationEdit.sequence))).all())


def has_pending(session: Session, annotation_ids: list[int]) -> list[int]:
    """Which of these annotations have acknowledged edits not yet in a revision."""
    if not annotation_ids:
        return []
    found = session.exec(select(AnnotationEdit.annotation_id).distinct().where(
        col(AnnotationEdit.annotation_id).in_(annotation_ids))).all()
    return sorted(found)


def current_mask(session: Session, annotation: Annotation) -> tuple[np.ndarray, int]:
    """The latest revision with every pending entry laid over it, and the last entry's
    sequence (0 when none): the state the editor acknowledged last."""
    assert annotation.id is not None
    shape = reads.expected_shape(session, annotation)
    latest = reads.latest_revision(session, annotation.id)
    if latest is not None:
        mask = decode_mask(latest.mask, shape_from_text(latest.shape))
    else:
        mask = np.zeros(shape, bool)
    last = 0
    for entry in pending(session, annotation.id):
        apply_entry(mask, entry)
        last = entry.sequence
    return mask, last


def apply_entry(mask: np.ndarray, entry: AnnotationEdit) -> None:
    z0, y0, x0, z1, y1, x1 = (int(v) for v in entry.box.split(","))
    mask[z0:z1, y0:y1, x0:x1] = decode_mask(entry.bits, (z1 - z0, y1 - y0, x1 - x0))


def fold(session: Session, *, annotation_id: int, upto: int) -> None:
    """Forget the entries up to `upto`: a revision now holds them (no commit)."""
    session.execute(sa.delete(AnnotationEdit).where(col(AnnotationEdit.annotation_id) == annotation_id,
                                                    col(AnnotationEdit.sequence) <= upto))


def active_seconds(session: Session, annotation_id: int, upto: int) -> float:
    total = session.exec(select(sa.func.sum(AnnotationEdit.active_seconds)).where(
        AnnotationEdit.annotation_id == annotation_id, AnnotationEdit.sequence <= upto)).one()
    return float(total or 0.0)
