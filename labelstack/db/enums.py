"""The allowed values of the domain; columns store them as plain strings (`types.EnumText`)."""

from enum import StrEnum

from labelstack.imaging.mpr import Plane

__all__ = ["AnnotationStatus", "AuditAction", "Plane", "Priority", "ReviewResult", "Role", "TaskStatus",
           "TaskType"]


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


class AuditAction(StrEnum):
    """Every kind of audit event; statistics count by these, so a typo cannot zero one."""

    token_issue = "token.issue"
    token_revoke = "token.revoke"
    user_create = "user.create"
    user_update = "user.update"
    label_create = "label.create"
    label_update = "label.update"
    label_delete = "label.delete"
    label_assign = "label.assign"
    label_unassign = "label.unassign"
    images_import = "images.import"
    images_sync = "images.sync"
    images_delete = "images.delete"  # an image nobody worked on, out of the index and store
    task_create = "task.create"
    task_update = "task.update"
    task_status = "task.status"
    task_take = "task.take"
    annotation_create = "annotation.create"
    annotation_status = "annotation.status"
    annotation_save = "annotation.save"
    review_create = "review.create"
    review_decide = "review.decide"
    comment_create = "comment.create"
    seg_store = "seg.store"  # a DICOM SEG sent to the image store (PACS), or refused by it
    seg_import = "seg.import"  # a DICOM SEG made into first versions of its labels
    dataset_export = "dataset.export"  # final annotations written out as a dataset zip
