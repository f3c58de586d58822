"""What the annotator page shows for a task: its images in order, and on each the
annotations of this task (label, colour, state), for the assignee or, read-only, an admin."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from labelstack.db.enums import TaskStatus, TaskType
from labelstack.db.models import Annotation, AnnotationRevision, Label, LabelAssignment, Series, User
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict
from labelstack.services.images.index import series_titles
from labelstack.services.tasks import items, records


@dataclass(kw_only=True, slots=True)
class LabelWork:
    annotation_id: int
    label: str
    color: str
    status: str
    saved: bool


@dataclass(kw_only=True, slots=True)
class ImageWork:
    series_id: int
    series_uid: str
    title: str
    labels: list[LabelWork] = field(default_factory=list)

    @property
    def state(self) -> str:
        """not started / in progress / done, as the image list shows it."""
        saved = [w.saved for w in self.labels]
        return "done" if saved and all(saved) else "in progress" if any(saved) else "not started"


@dataclass(kw_only=True, slots=True)
class Workspace:
    task_id: int
    name: str
    status: TaskStatus
    editable: bool
    reason: str
    images: list[ImageWork]


def task_workspace(session: Session, *, actor: User, task_id: int) -> Workspace:
    """The task's images and annotations; 403 for anyone but its assignee and admins."""
    task = records.get_task(session, task_id)
    records.require_task_actor(session, task=task, actor=actor)
    if task.type != TaskType.annotation:
        raise Conflict(f"task {task_id} is a {task.type} task: only annotation tasks open in the "
                       "annotator")
    editable = records.works_on(task, actor)
    reason = "" if editable else (
        "start the task to draw" if task.assignee_id == actor.id and task.status == TaskStatus.open
        else f"the task is {task.status.replace('_', ' ')}; it opens read-only")
    series_ids = items.task_series_ids(session, task)
    rows = session.exec(select(Annotation, Label, LabelAssignment)
                        .join(LabelAssignment, col(LabelAssignment.id) == Annotation.label_assignment_id)
                        .join(Label, col(Label.id) == LabelAssignment.label_id)
                        .where(Annotation.task_id == task.id, reads.readable_by(actor))
                        .order_by(col(LabelAssignment.series_id), col(Label.name),
                                  col(Annotation.version))).all()
    saved = set(session.exec(select(AnnotationRevision.annotation_id).where(
        col(AnnotationRevision.annotation_id).in_([a.id for a, _, _ in rows]))).all())
    current: dict[int, tuple[Annotation, Label, int]] = {}
    for annotation, label, pair in rows:  # the newest version per label assignment
        current[pair.id or 0] = (annotation, label, pair.series_id)
    uids = dict(session.exec(select(Series.id, Series.series_uid)
                             .where(col(Series.id).in_(series_ids))).all())
    titles = series_titles(session, series_ids)
    images = {sid: ImageWork(series_id=sid, series_uid=uids[sid], title=titles.get(sid, ""))
              for sid in series_ids if sid in uids}
    for annotation, label, series_id in current.values():
        if series_id in images and annotation.id is not None:
            images[series_id].labels.append(LabelWork(
                annotation_id=annotation.id, label=label.name, color=label.color,
                status=annotation.status, saved=annotation.id in saved))
    return Workspace(task_id=task_id, name=task.name, status=task.status, editable=editable,
                     reason=reason, images=[i for i in images.values() if i.labels])
