"""Agreement between annotations of one image: a pair, and per label across the project."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from labelstack.annotation.agreement import Spread
from labelstack.api.deps import CurrentUser, SessionDep
from labelstack.services.annotations import agreement
from labelstack.services.annotations.agreement import LabelAgreement

router = APIRouter(prefix="/agreement", tags=["agreement"])


class AgreementPublic(BaseModel):
    a: int
    b: int
    series_uid: str
    dice: float = Field(description="2|A∩B| / (|A|+|B|); 1 when both masks are empty")
    jaccard: float = Field(description="|A∩B| / |A∪B|; 1 when both masks are empty")
    volume_a_ml: float
    volume_b_ml: float
    volume_difference_ml: float = Field(description="volume_b_ml − volume_a_ml")
    hd95_mm: float | None = Field(description="95th-percentile Hausdorff distance between the "
                                              "surfaces; null when exactly one mask is empty")
    assd_mm: float | None = Field(description="average symmetric surface distance; null when "
                                              "exactly one mask is empty")


class SpreadPublic(BaseModel):
    n: int = Field(description="pairs where the metric is defined")
    mean: float | None
    std: float | None = Field(description="sample standard deviation (0 for one pair)")
    min: float | None
    max: float | None

    @classmethod
    def of(cls, s: Spread) -> SpreadPublic:
        return cls(n=s.n, mean=s.mean, std=s.std, min=s.min, max=s.max)


class LabelAgreementPublic(BaseModel):
    label_id: int
    label: str
    annotations: int = Field(description="handed-in annotations of this label you may read")
    images: int = Field(description="images (label assignments) with at least one pair")
    pairs: int
    skipped: int = Field(description="annotations left out: their image or mask was unreadable")
    dice: SpreadPublic
    jaccard: SpreadPublic
    volume_difference_ml: SpreadPublic = Field(description="later version minus earlier")
    hd95_mm: SpreadPublic
    assd_mm: SpreadPublic

    @classmethod
    def of(cls, s: LabelAgreement) -> LabelAgreementPublic:
        return cls(label_id=s.label_id, label=s.label, annotations=s.annotations, images=s.images,
                   pairs=s.pairs, skipped=s.skipped, dice=SpreadPublic.of(s.dice),
                   jaccard=SpreadPublic.of(s.jaccard),
                   volume_difference_ml=SpreadPublic.of(s.volume_difference_ml),
                   hd95_mm=SpreadPublic.of(s.hd95_mm), assd_mm=SpreadPublic.of(s.assd_mm))


@router.get("", response_model=AgreementPublic)
def pair(session: SessionDep, actor: CurrentUser, a: int = Query(description="an annotation id"),
         b: int = Query(description="another annotation id on the same image")) -> AgreementPublic:
    """Dice, Jaccard, volumes (ml) and surface distances (mm, with the image's spacing) of two
    annotations on the same image that you may read; 422 for annotations on different images."""
    result = agreement.pair_agreement(session, actor=actor, a=a, b=b)
    return AgreementPublic(a=result.a, b=result.b, series_uid=result.series_uid,
                           **result.metrics.as_dict())


@router.get("/labels", response_model=list[LabelAgreementPublic])
def per_label(session: SessionDep, actor: CurrentUser,
              label_id: int | None = None) -> list[LabelAgreementPublic]:
    """Per label: mean and spread of each metric over every pair of handed-in versions (or
    authors) of the same label on the same image, among the annotations you may read."""
    return [LabelAgreementPublic.of(s)
            for s in agreement.label_agreement(session, actor=actor, label_id=label_id)]
