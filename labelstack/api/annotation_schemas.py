"""Response shapes of the annotation workflow API (annotations, revisions, reviews, comments)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from labelstack.annotation.ops import Mode, Tool
from labelstack.annotation.raster import MAX_POINTS
from labelstack.db.models import Annotation, AnnotationRevision, Comment, Review
from labelstack.imaging.mpr import Plane
from labelstack.services.annotations.history import VersionHistory


class AnnotationPublic(BaseModel):
    id: int
    label_assignment_id: int
    version: int
    author_id: int | None
    task_id: int | None
    status: str
    row_version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Annotation) -> AnnotationPublic:
        return cls.model_validate(a, from_attributes=True)


class RevisionPublic(BaseModel):
    """A revision without its mask bytes (download those from `.../mask`)."""

    annotation_id: int
    sequence: int
    author_id: int | None
    created_at: datetime
    time_spent: float
    content_hash: str
    shape: list[int]

    @classmethod
    def of(cls, r: AnnotationRevision) -> RevisionPublic:
        return cls(annotation_id=r.annotation_id, sequence=r.sequence, author_id=r.author_id,
                   created_at=r.created_at, time_spent=r.time_spent,
                   content_hash=r.content_hash, shape=[int(n) for n in r.shape.split(",")])


class ReviewPublic(BaseModel):
    id: int
    annotation_id: int
    sequence: int
    reviewer_id: int | None
    task_id: int | None
    result: str | None
    comment: str
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, r: Review) -> ReviewPublic:
        return cls.model_validate(r, from_attributes=True)


class CommentPublic(BaseModel):
    id: int
    annotation_id: int
    author_id: int | None
    text: str
    plane: str | None
    slice_index: int | None
    x: float | None
    y: float | None
    created_at: datetime

    @classmethod
    def of(cls, c: Comment) -> CommentPublic:
        return cls.model_validate(c, from_attributes=True)


class VersionHistoryPublic(BaseModel):
    annotation: AnnotationPublic
    revisions: list[RevisionPublic]
    reviews: list[ReviewPublic]

    @classmethod
    def of(cls, h: VersionHistory) -> VersionHistoryPublic:
        return cls(annotation=AnnotationPublic.of(h.annotation),
                   revisions=[RevisionPublic.of(r) for r in h.revisions],
                   reviews=[ReviewPublic.of(r) for r in h.reviews])


class EditIn(BaseModel):
    """One drawing operation in a slice: image pixel coordinates `[row, col]`."""

    tool: Tool
    mode: Mode = Mode.DRAW
    plane: Plane = Plane.axial
    index: int = Field(ge=0)
    points: list[tuple[float, float]] = Field(min_length=1, max_length=MAX_POINTS)
    radius_mm: float | None = Field(default=None, gt=0, description="brush and sphere")


class EditResult(BaseModel):
    changed: bool
    box: list[int] = Field(description="z0, y0, x0, z1, y1, x1 of the changed voxels")
