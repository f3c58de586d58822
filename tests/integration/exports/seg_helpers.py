"""Building blocks of the SEG and dataset export tests: real imported images, labels, and
annotations taken through the workflow to accepted (final)."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from sqlmodel import Session, select

from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, Label, LabelAssignment, Review, Series, User
from labelstack.imaging.volume import main_stack_frames
from labelstack.services.annotations import reviews, revisions
from labelstack.services.images import importing, runtime
from labelstack.services.images.shape import instance_keys
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.workflow import transitions
from tests.integration.workflow.annotation_helpers import annotation_task, review_task

C30, S30 = np.cos(np.radians(30)), np.sin(np.radians(30))
OBLIQUE = (C30, S30, 0.0, -S30 * C30, C30 * C30, -S30)


def import_image(session: Session, paths: list[Path]) -> Series:
    before = {s.id for s in session.exec(select(Series)).all()}
    report = importing.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    assert report.count("rejected") == 0, report.items
    [series] = [s for s in session.exec(select(Series)).all() if s.id not in before]
    return series


def assign(session: Session, series: Series, name: str, color: str = "#ff0000",
           description: str = "") -> LabelAssignment:
    label = session.exec(select(Label).where(Label.name == name)).first()
    if label is None:
        label = Label(name=name, color=color, description=description)
        session.add(label)
        session.flush()
    pair = LabelAssignment(label_id=label.id, series_id=series.id)
    session.add(pair)
    session.commit()
    return pair


def draw(session: Session, admin: User, author: User, masks: dict[int, np.ndarray]) -> list[Annotation]:
    """`author` saves one mask per label assignment id in one task, and finishes it."""
    task = annotation_task(session, admin, author, [session.get(LabelAssignment, i) for i in masks])
    drawn = session.exec(select(Annotation).where(Annotation.task_id == task.id)
                         .order_by(Annotation.id)).all()
    for annotation in drawn:
        revisions.save_mask(session, actor=author, annotation_id=annotation.id,
                            mask=masks[annotation.label_assignment_id], time_spent=2)
    transitions.set_status(session, actor=author, task_id=task.id, status=TaskStatus.done)
    for annotation in drawn:
        session.refresh(annotation)
    return list(drawn)


def accept(session: Session, admin: User, reviewer: User, annotations: list[Annotation],
           result: str = "accepted") -> None:
    task = review_task(session, admin, reviewer, [a.id for a in annotations])
    for review in session.exec(select(Review).where(Review.task_id == task.id)).all():
        reviews.decide_review(session, actor=reviewer, review_id=review.id, result=result,
                              comment="" if result == "accepted" else "redo it")
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    for annotation in annotations:
        session.refresh(annotation)


def source_datasets(session: Session, series: Series) -> list[pydicom.Dataset]:
    """The image's instances (headers) as its store holds them."""
    return runtime.store(series.store).read_headers(instance_keys(session, series.id))


def by_source_instance(seg: hd.seg.Segmentation, sources: list[pydicom.Dataset],
                       number: int) -> np.ndarray:
    """highdicom's reading of one segment, on each source instance in the image's z order."""
    uids = [str(sources[s].SOPInstanceUID) for s, _ in main_stack_frames(sources)]
    return seg.get_pixels_by_source_instance(source_sop_instance_uids=uids,
                                             segment_numbers=[number])[..., 0].astype(bool)


def ball(shape: tuple[int, int, int], centre: tuple[float, float, float], radius: float) -> np.ndarray:
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return ((z - centre[0]) * 2) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius**2
