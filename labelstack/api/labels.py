"""Labels (admins manage, everyone signed in reads) and label assignments."""

from __future__ import annotations

from fastapi import APIRouter, Response

from labelstack.api.deps import AdminUser, CurrentUser, SessionDep
from labelstack.api.label_schemas import AssignmentPublic, AssignResultPublic, LabelPublic
from labelstack.services.labels import catalog as labels
from labelstack.services.labels.catalog import AssignmentCreate, LabelCreate, LabelUpdate

router = APIRouter(prefix="/labels", tags=["labels"])
assignments = APIRouter(prefix="/label-assignments", tags=["labels"])


@router.get("", response_model=list[LabelPublic])
def list_labels(session: SessionDep, _actor: CurrentUser,
                include_archived: bool = False) -> list[LabelPublic]:
    found = labels.list_labels(session, include_archived=include_archived)
    return [LabelPublic.model_validate(label) for label in found]


@router.post("", response_model=LabelPublic, status_code=201)
def create_label(session: SessionDep, actor: AdminUser, data: LabelCreate) -> LabelPublic:
    return LabelPublic.model_validate(labels.create_label(session, actor=actor, data=data))


@router.get("/{label_id}", response_model=LabelPublic)
def get_label(session: SessionDep, _actor: CurrentUser, label_id: int) -> LabelPublic:
    return LabelPublic.model_validate(labels.get_label(session, label_id))


@router.patch("/{label_id}", response_model=LabelPublic)
def update_label(session: SessionDep, actor: AdminUser, label_id: int,
                 data: LabelUpdate) -> LabelPublic:
    label = labels.update_label(session, actor=actor, label_id=label_id, data=data)
    return LabelPublic.model_validate(label)


@router.delete("/{label_id}", status_code=204, responses={409: {"description": "in use"}})
def delete_label(session: SessionDep, actor: AdminUser, label_id: int) -> Response:
    """Deletes the label and its assignments; 409 while annotations or tasks use them."""
    labels.delete_label(session, actor=actor, label_id=label_id)
    return Response(status_code=204)


@assignments.post("", response_model=AssignResultPublic)
def assign_label(session: SessionDep, actor: AdminUser,
                 data: AssignmentCreate) -> AssignResultPublic:
    """Assign one label to many images at once; pairs that already exist are reported."""
    return AssignResultPublic.of(labels.assign_label(session, actor=actor, data=data))


@assignments.get("", response_model=list[AssignmentPublic])
def list_assignments(session: SessionDep, actor: CurrentUser, label_id: int | None = None,
                     series_id: int | None = None,
                     task_id: int | None = None) -> list[AssignmentPublic]:
    """Admins filter freely; others must name a task of theirs (`task_id`)."""
    found = labels.list_assignments(session, actor=actor, label_id=label_id,
                                    series_id=series_id, task_id=task_id)
    return [AssignmentPublic.model_validate(a) for a in found]


@assignments.delete("/{assignment_id}", status_code=204)
def delete_assignment(session: SessionDep, actor: AdminUser, assignment_id: int) -> Response:
    """409 while the assignment has annotations or is an item of a task."""
    labels.delete_assignment(session, actor=actor, assignment_id=assignment_id)
    return Response(status_code=204)
