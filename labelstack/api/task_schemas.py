"""Request and response shapes for tasks."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from labelstack.db.enums import TaskStatus
from labelstack.db.models import Task
from labelstack.services.tasks.items import Progress
from labelstack.services.tasks.queries import TaskPage, TaskRow


class StatusChange(BaseModel):
    status: TaskStatus
    row_version: int | None = None


class ProgressPublic(BaseModel):
    done: int
    total: int
    time_spent: float


class TaskPublic(BaseModel):
    id: int
    type: str
    name: str
    description: str
    priority: str
    due_date: date | None
    status: str
    assignee_id: int | None
    creator_id: int | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    row_version: int
    progress: ProgressPublic

    @classmethod
    def of(cls, task: Task | TaskRow, progress: Progress) -> TaskPublic:
        fields = {k: getattr(task, k) for k in cls.model_fields if k != "progress"}
        return cls(**fields, progress=ProgressPublic(done=progress.done, total=progress.total,
                                                     time_spent=progress.time_spent))


class TaskPagePublic(BaseModel):
    items: list[TaskPublic]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, page: TaskPage) -> TaskPagePublic:
        return cls(items=[TaskPublic.of(t, page.progress[t.id or 0]) for t in page.items],
                   total=page.total, page=page.page, page_size=page.page_size)


class TaskItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    series_id: int | None
    label_assignment_id: int | None
    annotation_id: int | None
    done: bool
