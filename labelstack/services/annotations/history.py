"""The full story of one label assignment: every version, its revisions and its reviews.

Filtered by the annotation read rule, so a history never shows more than the
caller could open one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from labelstack.db.models import Annotation, AnnotationRevision, LabelAssignment, Review, User
from labelstack.services.annotations import reads
from labelstack.services.errors import get_or_not_found


@dataclass(kw_only=True, slots=True)
class VersionHistory:
    annotation: Annotation
    revisions: list[AnnotationRevision]
    reviews: list[Review]


def history(session: Session, *, actor: User, label_assignment_id: int) -> list[VersionHistory]:
    """Versions oldest first, each with its revisions and reviews in sequence order."""
    get_or_not_found(session, LabelAssignment, label_assignment_id, "label assignment")
    versions = reads.list_annotations(session, actor=actor,
                                      label_assignment_id=label_assignment_id)
    ids = [a.id for a in versions]
    revisions = session.exec(select(AnnotationRevision).options(reads.without_mask())
                             .where(col(AnnotationRevision.annotation_id).in_(ids))
                             .order_by(col(AnnotationRevision.sequence))).all()
    reviews = session.exec(select(Review).where(col(Review.annotation_id).in_(ids))
                           .order_by(col(Review.sequence))).all()
    return [VersionHistory(annotation=a,
                           revisions=[r for r in revisions if r.annotation_id == a.id],
                           reviews=[r for r in reviews if r.annotation_id == a.id])
            for a in versions]
