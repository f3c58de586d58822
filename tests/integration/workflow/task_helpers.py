"""Data for the label and task tests: images, labels, assignments, annotations with revisions."""

from __future__ import annotations

import itertools

from sqlmodel import Session

from labelstack.db.enums import AnnotationStatus
from labelstack.db.models import Annotation, AnnotationRevision, Label, LabelAssignment
from tests.integration.workflow.annotation_helpers import make_series

_uids = itertools.count(1)


def images(session: Session, n: int = 1) -> list[int]:
    """Ids of `n` new small indexed images."""
    return [make_series(session, (2, 4, 4)).id for _ in range(n)]


def label(session: Session, name: str | None = None) -> Label:
    row = Label(name=name or f"label-{next(_uids)}", color="#00ff00")
    session.add(row)
    session.commit()
    return row


def assignment(session: Session, label_id: int, series_id: int,
               created_by_id: int | None = None) -> LabelAssignment:
    row = LabelAssignment(label_id=label_id, series_id=series_id, created_by_id=created_by_id)
    session.add(row)
    session.commit()
    return row


def annotation(session: Session, assignment_id: int, author_id: int | None, *,
               saved: bool = True, time_spent: float = 0.0,
               task_id: int | None = None) -> Annotation:
    """A submitted annotation (with one revision), or a draft without any."""
    row = Annotation(label_assignment_id=assignment_id, version=next(_uids), author_id=author_id,
                     task_id=task_id, status=AnnotationStatus.submitted if saved else "draft")
    session.add(row)
    session.flush()
    if saved:
        session.add(AnnotationRevision(annotation_id=row.id, sequence=1, author_id=author_id,
                                       time_spent=time_spent, content_hash="0" * 64, mask=b""))
    session.commit()
    return row


def save(session: Session, annotation_id: int, author_id: int | None, seconds: float) -> None:
    """Stand-in for a save: one revision with its time (the revisions service does the real one)."""
    session.add(AnnotationRevision(annotation_id=annotation_id, sequence=next(_uids),
                                   author_id=author_id, time_spent=seconds,
                                   content_hash="1" * 64, mask=b""))
    session.commit()
