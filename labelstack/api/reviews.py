"""Reviews: list them, read one, and decide it (accepted / rejected / corrected)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from labelstack.api.annotation_schemas import AnnotationPublic, ReviewPublic
from labelstack.api.deps import CurrentUser, SessionDep
from labelstack.db.enums import ReviewResult
from labelstack.services.annotations import reviews

router = APIRouter(prefix="/reviews", tags=["reviews"])


class ReviewDecision(BaseModel):
    result: ReviewResult
    comment: str = Field(default="", max_length=4000, description="required when rejecting")


class DecisionResponse(BaseModel):
    review: ReviewPublic
    annotation: AnnotationPublic
    correction: AnnotationPublic | None = Field(
        description="for `corrected`: the reviewer's new version, seeded with the reviewed "
                    "mask; save changes into it with POST /annotations/{id}/revisions")


@router.get("", response_model=list[ReviewPublic])
def list_reviews(session: SessionDep, actor: CurrentUser, task_id: int | None = None,
                 annotation_id: int | None = None) -> list[ReviewPublic]:
    """Reviews of the annotations you may read, by task and/or annotation."""
    found = reviews.list_reviews(session, actor=actor, task_id=task_id,
                                 annotation_id=annotation_id)
    return [ReviewPublic.of(r) for r in found]


@router.get("/{review_id}", response_model=ReviewPublic)
def get_review(session: SessionDep, actor: CurrentUser, review_id: int) -> ReviewPublic:
    return ReviewPublic.of(reviews.read_review(session, actor=actor, review_id=review_id))


@router.post("/{review_id}", response_model=DecisionResponse)
def decide_review(session: SessionDep, actor: CurrentUser, review_id: int,
                  data: ReviewDecision) -> DecisionResponse:
    """The reviewer's result, inside their in-progress review task."""
    decision = reviews.decide_review(session, actor=actor, review_id=review_id,
                                     result=data.result, comment=data.comment)
    return DecisionResponse(
        review=ReviewPublic.of(decision.review),
        annotation=AnnotationPublic.of(decision.annotation),
        correction=AnnotationPublic.of(decision.correction) if decision.correction else None)
