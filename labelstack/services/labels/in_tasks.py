"""Inside an in-progress label task, its assignee adds and removes labels on the task's images.

Removing is bounded by the same rule as everywhere: an assignment that carries
annotations (whoever made it) or is an item of a task stays.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session

from labelstack.db.enums import TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.services.errors import Conflict, Forbidden, InvalidInput
from labelstack.services.labels import catalog as labels
from labelstack.services.labels.catalog import AssignResult
from labelstack.services.tasks import items as task_items
from labelstack.services.tasks.records import get_task, require_task_actor


class TaskLabelAdd(BaseModel):
    label_id: int
    series_ids: list[int] | None = Field(default=None, max_length=10_000,
                                         description="images of the task; default: all of them")


def add_task_label(session: Session, *, actor: User, task_id: int,
                   data: TaskLabelAdd) -> AssignResult:
    task = _working_label_task(session, actor, task_id)
    images = task_items.task_series_ids(session, task)
    series_ids = images if data.series_ids is None else data.series_ids
    outside = sorted(set(series_ids) - set(images))
    if outside:
        raise InvalidInput(f"series {outside} are not images of task {task.id}", missing=outside)
    result = labels.add_assignments(session, actor=actor, label_id=data.label_id,
                                    series_ids=series_ids, task=task)
    session.commit()
    return result


def remove_task_label(session: Session, *, actor: User, task_id: int, assignment_id: int) -> None:
    task = _working_label_task(session, actor, task_id)
    assignment = labels.get_assignment(session, assignment_id)
    if assignment.series_id not in task_items.task_series_ids(session, task):
        raise InvalidInput(f"label assignment {assignment_id} is not on an image of task {task.id}")
    labels.remove_assignment(session, actor=actor, assignment=assignment)
    session.commit()


def _working_label_task(session: Session, actor: User, task_id: int) -> Task:
    """The label task `actor` is working on right now, or the reason they may not touch it."""
    task = get_task(session, task_id)
    require_task_actor(session, task=task, actor=actor)
    if task.assignee_id != actor.id:
        raise Forbidden("only the task's assignee labels its images")
    if task.type != TaskType.label:
        raise Conflict(f"labels are added inside label tasks; this is a {task.type} task")
    if task.status != TaskStatus.in_progress:
        raise Conflict(f"labels change only while the task is in progress; it is {task.status}")
    return task
