"""Building blocks for the annotation workflow tests: images, labels, started tasks, masks."""

from __future__ import annotations

import io
import itertools

import numpy as np
from sqlmodel import Session

from labelstack.db.enums import TaskStatus, TaskType
from labelstack.db.models import Label, LabelAssignment, Series, Study, Task, User
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate

SHAPE = (3, 8, 10)
_uids = itertools.count(1)


def make_series(session: Session, shape: tuple[int, int, int] = SHAPE) -> Series:
    """An indexed image of the given (z, y, x); the images issue will import real ones."""
    n = next(_uids)
    study = Study(study_uid=f"1.2.3.{n}")
    session.add(study)
    session.flush()
    series = Series(series_uid=f"1.2.3.{n}.1", study_id=study.id, modality="CT",
                    number_of_instances=shape[0], rows=shape[1], columns=shape[2])
    session.add(series)
    session.commit()
    return series


def make_assignment(session: Session, series: Series | None = None,
                    name: str | None = None) -> LabelAssignment:
    series = series or make_series(session)
    label = Label(name=name or f"label-{next(_uids)}")
    session.add(label)
    session.flush()
    assignment = LabelAssignment(label_id=label.id, series_id=series.id)
    session.add(assignment)
    session.commit()
    return assignment


def annotation_task(session: Session, admin: User, annotator: User,
                    assignments: list[LabelAssignment], start: bool = True) -> Task:
    task = transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.annotation, name="draw", assignee_id=annotator.id,
        label_assignment_ids=[a.id for a in assignments]))
    if start:
        transitions.set_status(session, actor=annotator, task_id=task.id, status=TaskStatus.in_progress)
    return task


def review_task(session: Session, admin: User, reviewer: User, annotation_ids: list[int],
                start: bool = True) -> Task:
    task = transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.review, name="check", assignee_id=reviewer.id,
        annotation_ids=annotation_ids))
    if start:
        transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.in_progress)
    return task


def blob(shape: tuple[int, ...] = SHAPE, *, size: int = 2, at: int = 0) -> np.ndarray:
    """A mask with a small box; different `size`/`at` give different content."""
    mask = np.zeros(shape, dtype=bool)
    mask[at % shape[0], 1:1 + size, 2:2 + size] = True
    return mask


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
