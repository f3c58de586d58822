"""Tasks: list/search, create, edit one or many, move along the status flow, take, label."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from labelstack.api.deps import AdminUser, CurrentUser, SessionDep
from labelstack.api.label_schemas import AssignResultPublic
from labelstack.api.task_schemas import StatusChange, TaskItemPublic, TaskPagePublic, TaskPublic
from labelstack.db.models import Task
from labelstack.services.labels import in_tasks as task_labels
from labelstack.services.labels.in_tasks import TaskLabelAdd
from labelstack.services.tasks import items as task_items
from labelstack.services.tasks import queries as task_queries
from labelstack.services.tasks import records as tasks
from labelstack.services.tasks.queries import TaskFilter
from labelstack.services.workflow import edits as task_edits
from labelstack.services.workflow import transitions
from labelstack.services.workflow.edits import BulkTaskUpdate, TaskUpdate
from labelstack.services.workflow.transitions import TaskCreate

router = APIRouter(prefix="/tasks", tags=["tasks"])
CONFLICT = {409: {"description": "refused change; `allowed` lists the permitted next states"}}


@router.get("", response_model=TaskPagePublic)
def list_tasks(session: SessionDep, actor: CurrentUser,
               query: Annotated[TaskFilter, Query()]) -> TaskPagePublic:
    """Admins see all tasks; others their own and the unassigned ones they could take."""
    return TaskPagePublic.of(task_queries.list_tasks(session, actor=actor, query=query))


@router.post("", response_model=TaskPublic, status_code=201, responses=CONFLICT)
def create_task(session: SessionDep, actor: AdminUser, data: TaskCreate) -> TaskPublic:
    """Created `open` when it has an assignee, else `unassigned`."""
    return _public(session, transitions.create_task(session, actor=actor, data=data))


@router.patch("", response_model=list[TaskPublic], responses=CONFLICT)
def bulk_update_tasks(session: SessionDep, actor: AdminUser,
                      data: BulkTaskUpdate) -> list[TaskPublic]:
    """Apply the same changes to many tasks: all of them, or none on any refusal."""
    return [_public(session, t)
            for t in task_edits.bulk_update_tasks(session, actor=actor, data=data)]


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(session: SessionDep, actor: CurrentUser, task_id: int) -> TaskPublic:
    return _public(session, tasks.read_task(session, actor=actor, task_id=task_id))


@router.patch("/{task_id}", response_model=TaskPublic, responses=CONFLICT)
def update_task(session: SessionDep, actor: AdminUser, task_id: int,
                data: TaskUpdate) -> TaskPublic:
    task = task_edits.update_task(session, actor=actor, task_id=task_id, data=data)
    return _public(session, task)


@router.post("/{task_id}/status", response_model=TaskPublic, responses=CONFLICT)
def set_status(session: SessionDep, actor: CurrentUser, task_id: int,
               data: StatusChange) -> TaskPublic:
    task = transitions.set_status(session, actor=actor, task_id=task_id, status=data.status,
                            row_version=data.row_version)
    return _public(session, task)


@router.post("/{task_id}/take", response_model=TaskPublic, responses=CONFLICT)
def take_task(session: SessionDep, actor: CurrentUser, task_id: int) -> TaskPublic:
    """Take an unassigned task of a kind your role does; it becomes yours and `open`."""
    return _public(session, transitions.take_task(session, actor=actor, task_id=task_id))


@router.get("/{task_id}/items", response_model=list[TaskItemPublic])
def list_items(session: SessionDep, actor: CurrentUser, task_id: int) -> list[TaskItemPublic]:
    found = tasks.list_items(session, actor=actor, task_id=task_id)
    return [TaskItemPublic.model_validate(i) for i in found]


@router.post("/{task_id}/labels", response_model=AssignResultPublic, responses=CONFLICT)
def add_task_label(session: SessionDep, actor: CurrentUser, task_id: int,
                   data: TaskLabelAdd) -> AssignResultPublic:
    """The assignee of an in-progress label task assigns a label to the task's images."""
    result = task_labels.add_task_label(session, actor=actor, task_id=task_id, data=data)
    return AssignResultPublic.of(result)


@router.delete("/{task_id}/labels/{assignment_id}", status_code=204, responses=CONFLICT)
def remove_task_label(session: SessionDep, actor: CurrentUser, task_id: int,
                      assignment_id: int) -> Response:
    """Refused for assignments that carry annotations or are items of a task."""
    task_labels.remove_task_label(session, actor=actor, task_id=task_id,
                                  assignment_id=assignment_id)
    return Response(status_code=204)


def _public(session: Session, task: Task) -> TaskPublic:
    return TaskPublic.of(task, task_items.progress_of(session, [task])[task.id or 0])
