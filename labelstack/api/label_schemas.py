"""Response shapes for labels and label assignments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from labelstack.services.labels.catalog import AssignResult


class LabelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    color: str
    description: str
    archived: bool
    created_at: datetime


class AssignmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label_id: int
    series_id: int
    created_by_id: int | None
    task_id: int | None
    created_at: datetime


class AssignResultPublic(BaseModel):
    """`created`: new pairs; `existing`: pairs that were already there (re-assigning is harmless)."""

    created: list[AssignmentPublic]
    existing: list[AssignmentPublic]

    @classmethod
    def of(cls, result: AssignResult) -> AssignResultPublic:
        return cls(created=[AssignmentPublic.model_validate(a) for a in result.created],
                   existing=[AssignmentPublic.model_validate(a) for a in result.existing])
