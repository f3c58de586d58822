"""The allowed values of the domain, stored as plain strings."""

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    annotator = "annotator"
    reviewer = "reviewer"


class TaskType(StrEnum):
    label = "label"
    annotation = "annotation"
    review = "review"


class TaskStatus(StrEnum):
    unassigned = "unassigned"
    open = "open"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class AnnotationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    in_review = "in_review"
    accepted = "accepted"
    rejected = "rejected"
    corrected = "corrected"


class ReviewResult(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
    corrected = "corrected"


class Plane(StrEnum):
    axial = "axial"
    coronal = "coronal"
    sagittal = "sagittal"
