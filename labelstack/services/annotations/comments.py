"""Comments on an annotation, optionally pinned to a plane, slice and point.

Anyone who may read the annotation may read and add comments: the discussion
belongs with the work, so the same read rule applies.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Plane
from labelstack.db.models import Comment, User
from labelstack.services import audit
from labelstack.services.annotations import reads


class CommentCreate(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    plane: Plane | None = None
    slice_index: int | None = Field(default=None, ge=0)
    x: float | None = Field(default=None, ge=0)
    y: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _pin_is_complete(self) -> CommentCreate:
        """A point needs its slice, a slice needs its plane: half a pin points nowhere."""
        if not self.text.strip():
            raise ValueError("text must not be blank")
        if (self.x is None) != (self.y is None):
            raise ValueError("give both x and y, or neither")
        if self.x is not None and self.slice_index is None:
            raise ValueError("a point needs a slice_index")
        if self.slice_index is not None and self.plane is None:
            raise ValueError("a slice_index needs a plane")
        return self


def add_comment(session: Session, *, actor: User, annotation_id: int,
                data: CommentCreate) -> Comment:
    reads.read_annotation(session, actor=actor, annotation_id=annotation_id)
    comment = Comment(annotation_id=annotation_id, author_id=actor.id, text=data.text.strip(),
                      plane=data.plane,
                      slice_index=data.slice_index, x=data.x, y=data.y)
    session.add(comment)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.comment_create, entity_type="comment",
                 entity_id=comment.id, details={"annotation_id": annotation_id,
                                                "plane": comment.plane,
                                                "slice_index": comment.slice_index})
    session.commit()
    session.refresh(comment)
    return comment


def list_comments(session: Session, *, actor: User, annotation_id: int) -> list[Comment]:
    reads.read_annotation(session, actor=actor, annotation_id=annotation_id)
    query = select(Comment).where(Comment.annotation_id == annotation_id)
    return list(session.exec(query.order_by(col(Comment.created_at), col(Comment.id))).all())
