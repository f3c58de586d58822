"""Demo content for `labelstack demo`: users of each role, sample images, labels and tasks
in different states (all idempotent: running the demo again adds only what is missing)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

import numpy as np
from sqlmodel import Session, col, select

from labelstack.config import Settings
from labelstack.db.enums import Priority, Role, TaskStatus, TaskType
from labelstack.db.models import LabelAssignment, Series, Task, User
from labelstack.services.accounts import users
from labelstack.services.annotations import reads as annotation_reads
from labelstack.services.annotations import revisions
from labelstack.services.demo.images import seed_demo_images
from labelstack.services.labels import catalog as labels
from labelstack.services.labels.catalog import AssignmentCreate, LabelCreate
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate

DEMO_USERS = (
    (Role.admin, "admin@demo.labelstack.org", "demo-admin", "Ada Admin"),
    (Role.annotator, "annotator@demo.labelstack.org", "demo-annotator", "Ann Notator"),
    (Role.reviewer, "reviewer@demo.labelstack.org", "demo-reviewer", "Rey Viewer"),
)
DEMO_LABELS = (
    ("Lung", "#0ea5e9", "Both lungs, including vessels inside the lung fields."),
    ("Lesion", "#e11d48", "Any focal abnormality; one mask may hold several lesions."),
    ("Bone", "#a3a3a3", "Cortical and trabecular bone."),
)


def seed_demo(session: Session, settings: Settings) -> list[tuple[str, str, str]]:
    """Create what is missing of the demo; returns (role, e-mail, password) per login."""
    for role, email, password, name in DEMO_USERS:
        if session.exec(select(User).where(User.email == email)).first() is None:
            users.create_user(session, actor=None, data=users.UserCreate(
                email=email, password=password, name=name, roles=[role]))
    seed_demo_images(session, settings)
    seed_demo_workflow(session)
    return [(role.value, email, password) for role, email, password, _ in DEMO_USERS]


def seed_demo_workflow(session: Session) -> None:
    """Labels on the demo images and a few tasks for the annotator and the reviewer.

    Seeded once: when the demo tasks exist (or there are no images), nothing is added.
    """
    admin, annotator, reviewer = (_user(session, email) for _, email, _, _ in DEMO_USERS)
    if session.exec(select(Task.id).where(col(Task.name).startswith("Demo: "))).first():
        return
    existing = {lb.name for lb in labels.list_labels(session, include_archived=True)}
    for name, color, description in DEMO_LABELS:
        if name not in existing:
            labels.create_label(session, actor=admin, data=LabelCreate(
                name=name, color=color, description=description))
    by_name = {lb.name: lb for lb in labels.list_labels(session, include_archived=True)}
    series = list(session.exec(select(Series).order_by(col(Series.id))).all())
    if not series:
        return
    volumes = [s for s in series if s.modality in ("CT", "MR")] or series[:1]
    flat = [s for s in series if s not in volumes]
    for label, chosen in (("Lung", [s for s in volumes if s.modality == "CT"] or volumes),
                          ("Lesion", series), ("Bone", flat)):
        if chosen:
            labels.assign_label(session, actor=admin, data=AssignmentCreate(
                label_id=_id(by_name[label]), series_ids=[_id(s) for s in chosen]))
    pairs = {(a.label_id, a.series_id): _id(a) for a in session.exec(select(LabelAssignment))}
    soon = date.today() + timedelta(days=7)

    def assignment_ids(label: str, chosen: list[Series]) -> list[int]:
        label_id = _id(by_name[label])
        return [pairs[(label_id, _id(s))] for s in chosen if (label_id, _id(s)) in pairs]

    def create(**fields) -> Task:  # noqa: ANN003
        return transitions.create_task(session, actor=admin, data=TaskCreate(**fields))

    create(type=TaskType.label, name="Demo: check the labels of the volumes",
           description="Add any label the CT and MR volumes are missing.",
           priority=Priority.normal, due_date=soon, assignee_id=annotator.id,
           series_ids=[_id(s) for s in volumes])
    create(type=TaskType.annotation, name="Demo: outline the lungs",
           description="Paint both lungs on every slice of the CT.", priority=Priority.high,
           due_date=soon, assignee_id=annotator.id,
           label_assignment_ids=assignment_ids("Lung", volumes))
    create(type=TaskType.annotation, name="Demo: mark bones on the radiographs",
           description="Unassigned: take it from My tasks.", priority=Priority.low,
           label_assignment_ids=assignment_ids("Bone", flat) or assignment_ids("Lesion", flat))
    _seed_review(session, admin=admin, annotator=annotator, reviewer=reviewer,
                 ids=assignment_ids("Lesion", volumes[:1]))


def _seed_review(session: Session, *, admin: User, annotator: User, reviewer: User,
                 ids: list[int]) -> None:
    """A finished annotation task whose work now waits in the reviewer's open review task."""
    if not ids:
        return
    work = transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.annotation, name="Demo: lesion outline (done)", assignee_id=annotator.id,
        label_assignment_ids=ids))
    transitions.set_status(session, actor=annotator, task_id=_id(work), status=TaskStatus.in_progress)
    drawn = annotation_reads.list_annotations(session, actor=admin, task_id=work.id)
    for annotation in drawn:
        mask = np.zeros(annotation_reads.expected_shape(session, annotation), dtype=bool)
        z, y, x = mask.shape
        mask[z // 3: max(z // 3 + 1, 2 * z // 3), y // 3: 2 * y // 3, x // 3: x // 2] = True
        revisions.save_mask(session, actor=annotator, annotation_id=_id(annotation), mask=mask,
                            time_spent=240.0)
    transitions.set_status(session, actor=annotator, task_id=_id(work), status=TaskStatus.done)
    transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.review, name="Demo: review the lesion outline", assignee_id=reviewer.id,
        priority=Priority.high, due_date=date.today() + timedelta(days=2),
        annotation_ids=[_id(a) for a in drawn]))


def _user(session: Session, email: str) -> User:
    return session.exec(select(User).where(User.email == email)).one()


class _Stored(Protocol):
    id: int | None


def _id(row: _Stored) -> int:
    """The primary key of a row read from (or flushed to) the database: never None."""
    assert row.id is not None, f"{type(row).__name__} without an id"
    return row.id
