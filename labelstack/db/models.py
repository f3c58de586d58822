"""SQLModel tables for the whole domain (see ARCHITECTURE.md, "Domain").

Enumerations are typed as their `enums.py` classes in Python and the API schema, and
stored as short strings (`types.EnumText`) so the schema is the same on SQLite and
PostgreSQL; rules about them live in `services/`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from labelstack.db.enums import (
    AnnotationStatus,
    AuditAction,
    Plane,
    Priority,
    ReviewResult,
    TaskStatus,
    TaskType,
)
from labelstack.db.types import EnumText, UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    roles: str = Field(default="", max_length=64, description="comma-separated roles, sorted")
    # bumped by a password change or deactivation: browser sessions signed in before it end
    session_generation: int = Field(default=0)
    created_at: datetime = _created()

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)

    @property
    def display_name(self) -> str:
        """How pages name a person: the name, or the e-mail for users without one."""
        return self.name or self.email


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(default="", max_length=100)
    created_at: datetime = _created()
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked: bool = Field(default=False)


class Study(SQLModel, table=True):
    __tablename__ = "studies"

    id: int | None = Field(default=None, primary_key=True)
    study_uid: str = Field(max_length=64, unique=True, index=True)
    patient_id: str = Field(default="", max_length=64, index=True)
    patient_name: str = Field(default="", max_length=200, index=True)
    study_date: date | None = Field(default=None, index=True)
    study_description: str = Field(default="", max_length=200)
    accession_number: str = Field(default="", max_length=64)
    created_at: datetime = _created()


class Series(SQLModel, table=True):
    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    series_uid: str = Field(max_length=64, unique=True, index=True)
    study_id: int = Field(foreign_key="studies.id", index=True, ondelete="CASCADE")
    modality: str = Field(default="", max_length=16, index=True)
    body_part: str = Field(default="", max_length=64)
    series_description: str = Field(default="", max_length=200)
    series_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int = Field(default=0)
    number_of_instances: int = Field(default=0)
    store: str = Field(default="local", max_length=16)
    # renewed by the database (triggers of migration 0006) whenever the series' instances
    # change: the caches' name for this set of instances; read it with a query, not from an
    # object loaded before the change
    instance_set: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    # the slice a viewer opens it with, for that set (`services.images.shape.Opening`), JSON
    opening: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    # an import added instances and has not finished (or was killed): some may be missing
    incomplete: bool = Field(default=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Instance(SQLModel, table=True):
    __tablename__ = "instances"

    id: int | None = Field(default=None, primary_key=True)
    sop_instance_uid: str = Field(max_length=64, unique=True, index=True)
    series_id: int = Field(foreign_key="series.id", index=True, ondelete="CASCADE")
    sop_class_uid: str = Field(default="", max_length=64)
    transfer_syntax_uid: str = Field(default="", max_length=64)
    instance_number: int | None = None
    number_of_frames: int = Field(default=1)
    store_key: str = Field(max_length=500)
    file_size: int = Field(default=0)
    sha256: str = Field(default="", max_length=64, description="of the imported file; '' if unknown")
    created_at: datetime = _created()


class Label(SQLModel, table=True):
    __tablename__ = "labels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    color: str = Field(default="#ff0000", max_length=9)
    description: str = Field(default="", max_length=1000)
    archived: bool = Field(default=False)
    created_at: datetime = _created()


class LabelAssignment(SQLModel, table=True):
    __tablename__ = "label_assignments"
    __table_args__ = (sa.UniqueConstraint("label_id", "series_id", name="uq_label_assignment"),)

    id: int | None = Field(default=None, primary_key=True)
    label_id: int = Field(foreign_key="labels.id", index=True, ondelete="RESTRICT")
    series_id: int = Field(foreign_key="series.id", index=True, ondelete="RESTRICT")
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    task_id: int | None = Field(default=None, foreign_key="tasks.id", ondelete="SET NULL")
    created_at: datetime = _created()


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    type: TaskType = Field(sa_type=EnumText(TaskType), index=True)
    name: str = Field(max_length=200, index=True)
    description: str = Field(default="", max_length=4000)
    priority: Priority = Field(default=Priority.normal, sa_type=EnumText(Priority), index=True)
    due_date: date | None = Field(default=None, index=True)
    status: TaskStatus = Field(default=TaskStatus.unassigned, sa_type=EnumText(TaskStatus),
                               index=True)
    assignee_id: int | None = Field(default=None, foreign_key="users.id", index=True,
                                    ondelete="SET NULL")
    creator_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    # indexed (with name) for the Tasks list's sorting; text search: db/text_search.py
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False,
                                 index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False,
                                 index=True)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    time_spent: float = Field(default=0.0, description="seconds of active work")
    row_version: int = Field(default=1, description="optimistic lock counter")


def _one_active(column: str) -> sa.Index:
    """At most one active task holds an item: the database's own check behind the service's
    `check_exclusive` (each item column belongs to one task type)."""
    active = sa.text("active")
    return sa.Index(f"uq_task_items_active_{column}", column, unique=True,
                    sqlite_where=active, postgresql_where=active)


class TaskItem(SQLModel, table=True):
    __tablename__ = "task_items"
    __table_args__ = (sa.UniqueConstraint("task_id", "position", name="uq_task_item_position"),
                      _one_active("series_id"), _one_active("label_assignment_id"),
                      _one_active("annotation_id"))

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    position: int
    series_id: int | None = Field(default=None, foreign_key="series.id", index=True,
                                  ondelete="RESTRICT")
    label_assignment_id: int | None = Field(default=None, foreign_key="label_assignments.id",
                                            index=True, ondelete="RESTRICT")
    annotation_id: int | None = Field(default=None, foreign_key="annotations.id", index=True,
                                      ondelete="RESTRICT")
    done: bool = Field(default=False)
    # the task's status is active (tasks.rules.ACTIVE); kept by services/tasks/items.py
    active: bool = Field(default=False)


class Annotation(SQLModel, table=True):
    __tablename__ = "annotations"
    __table_args__ = (
        sa.UniqueConstraint("label_assignment_id", "version", name="uq_annotation_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    label_assignment_id: int = Field(foreign_key="label_assignments.id", index=True,
                                     ondelete="RESTRICT")
    version: int
    author_id: int | None = Field(default=None, foreign_key="users.id", index=True,
                                  ondelete="SET NULL")
    task_id: int | None = Field(default=None, foreign_key="tasks.id", index=True,
                                ondelete="SET NULL")
    status: AnnotationStatus = Field(default=AnnotationStatus.draft,
                                     sa_type=EnumText(AnnotationStatus), index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    row_version: int = Field(default=1, description="optimistic lock counter")


class AnnotationRevision(SQLModel, table=True):
    __tablename__ = "annotation_revisions"
    __table_args__ = (sa.UniqueConstraint("annotation_id", "sequence", name="uq_revision_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotations.id", index=True, ondelete="CASCADE")
    sequence: int
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = _created()
    time_spent: float = Field(default=0.0)
    content_hash: str = Field(max_length=64)
    shape: str = Field(default="", max_length=64, description="z,y,x of the mask")
    mask: bytes = Field(sa_type=sa.LargeBinary, description="packbits + zstd")


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (sa.UniqueConstraint("annotation_id", "sequence", name="uq_review_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotations.id", index=True, ondelete="CASCADE")
    sequence: int
    reviewer_id: int | None = Field(default=None, foreign_key="users.id", index=True,
                                    ondelete="SET NULL")
    task_id: int | None = Field(default=None, foreign_key="tasks.id", index=True,
                                ondelete="SET NULL")
    result: ReviewResult | None = Field(default=None, sa_type=EnumText(ReviewResult), index=True)
    comment: str = Field(default="", max_length=4000)
    created_at: datetime = _created()
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Comment(SQLModel, table=True):
    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotations.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    text: str = Field(max_length=4000)
    plane: Plane | None = Field(default=None, sa_type=EnumText(Plane))
    slice_index: int | None = None
    x: float | None = None
    y: float | None = None
    created_at: datetime = _created()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    # statistics read one action over a period
    __table_args__ = (sa.Index("ix_audit_events_action_created_at", "action", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", index=True,
                                 ondelete="SET NULL")
    action: AuditAction = Field(sa_type=EnumText(AuditAction, length=64), index=True)
    entity_type: str = Field(max_length=32, index=True)
    entity_id: int | None = Field(default=None, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class AnnotationEdit(SQLModel, table=True):
    """The edit journal: each change the editor acknowledged (a stroke, a shape, an undo),
    stored as the new content of the box it changed, before the acknowledgement is sent.

    The mask an annotation shows is its latest revision with the journal entries after it
    laid on top, in order; a snapshot folds them into a new revision and deletes them.
    """

    __tablename__ = "annotation_edits"
    __table_args__ = (sa.UniqueConstraint("annotation_id", "sequence", name="uq_edit_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotations.id", index=True, ondelete="CASCADE")
    sequence: int
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    kind: str = Field(max_length=16, description="what made it: a tool, undo or redo")
    box: str = Field(max_length=96, description="z0,y0,x0,z1,y1,x1 of the changed voxels")
    bits: bytes = Field(sa_type=sa.LargeBinary, description="the box's new content: packbits + zstd")
    active_seconds: float = Field(default=0.0)
    created_at: datetime = _created()


class AnnotationLease(SQLModel, table=True):
    """Who edits an annotation now: one holder (a browser tab) at a time, across processes.

    A holder renews it while the editor is open; an expired lease may be taken by anyone
    allowed to edit, a live one only by an explicit take-over."""

    __tablename__ = "annotation_leases"

    annotation_id: int = Field(foreign_key="annotations.id", primary_key=True, ondelete="CASCADE")
    holder: str = Field(max_length=64)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    acquired_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
