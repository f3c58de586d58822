"""Comments on an annotation, optionally pinned to a plane, slice and point."""

from __future__ import annotations

from fastapi import APIRouter

from labelstack.api.annotation_schemas import CommentPublic
from labelstack.api.deps import CurrentUser, SessionDep
from labelstack.services.annotations import comments
from labelstack.services.annotations.comments import CommentCreate

router = APIRouter(prefix="/annotations/{annotation_id}/comments", tags=["comments"])


@router.get("", response_model=list[CommentPublic])
def list_comments(session: SessionDep, actor: CurrentUser,
                  annotation_id: int) -> list[CommentPublic]:
    found = comments.list_comments(session, actor=actor, annotation_id=annotation_id)
    return [CommentPublic.of(c) for c in found]


@router.post("", response_model=CommentPublic, status_code=201)
def add_comment(session: SessionDep, actor: CurrentUser, annotation_id: int,
                data: CommentCreate) -> CommentPublic:
    """Anyone who may read the annotation may comment on it."""
    return CommentPublic.of(comments.add_comment(session, actor=actor,
                                                 annotation_id=annotation_id, data=data))
