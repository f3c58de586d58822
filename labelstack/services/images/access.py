"""Who may look at a series: admins any; everyone else only the images of their own tasks.

An image belongs to a task when the task holds it directly (label tasks, annotation tasks
over images), holds a label assignment on it (annotation tasks), or holds an annotation
of such an assignment (review tasks). The task's status does not matter: a reviewer may
look back at what they reviewed.

Decisions to let a user in are kept briefly (`brief_cache`): a viewer asks for every
frame, and a change to the tasks, items, assignments or annotations (or the series) made
here is seen by the next request.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from labelstack.db.enums import Role
from labelstack.db.models import Annotation, LabelAssignment, Series, Task, TaskItem, User
from labelstack.services.brief_cache import BriefCache
from labelstack.services.errors import Forbidden, NotFound
from labelstack.services.images import series_load
from labelstack.services.images.series_load import Indexed
from labelstack.services.security import has_role

_allowed: BriefCache[tuple[int | None, str, str], bool] = BriefCache(
    *(model.__tablename__ for model in (Series, Task, TaskItem, LabelAssignment, Annotation)))


def require_series_reader(session: Session, *, actor: User, series_uid: str) -> None:
    """Refuse (403) unless `actor` may view the series; one rule for the API and the pages.

    An unknown UID is 404 for admins; others get the same 403 as for a series outside their
    tasks, so they cannot probe which UIDs exist.
    """
    _allowed.get((actor.id, actor.roles, series_uid),
                 lambda: _check(session, actor=actor, series_uid=series_uid))


def readable_series(session: Session, *, actor: User, series_uid: str) -> Indexed:
    """The series' index entry (`series_load.indexed`), for a user who may view it. For an
    admin that read is the rule (every indexed series is theirs to see), so opening an image
    costs one read; anyone else is checked first, so that an unknown UID answers them as a
    series outside their tasks does."""
    if not has_role(actor, Role.admin):
        require_series_reader(session, actor=actor, series_uid=series_uid)
    return series_load.indexed(session, series_uid)


def known_series_reader(*, actor: User, series_uid: str) -> bool:
    """True when a fresh decision lets `actor` view the series (for an admin: a fresh index
    entry); False means "not known here" (no database read), never a refusal:
    `require_series_reader` decides."""
    if has_role(actor, Role.admin):
        return series_load.known_indexed(series_uid) is not None
    return _allowed.peek((actor.id, actor.roles, series_uid)) is True


def _check(session: Session, *, actor: User, series_uid: str) -> bool:
    series = session.exec(select(Series).where(Series.series_uid == series_uid)).first()
    if has_role(actor, Role.admin):
        if series is None:
            raise NotFound(f"no series {series_uid} in the index")
        return True
    if series is None or actor.id is None or not _in_their_tasks(session, actor.id, series):
        raise Forbidden(f"series {series_uid} is not part of any of your tasks: only admins "
                        "and the assignees of a task holding it may view it")
    return True


def _in_their_tasks(session: Session, user_id: int, series: Series) -> bool:
    theirs = select(TaskItem.id).join(Task, col(Task.id) == col(TaskItem.task_id)) \
        .where(Task.assignee_id == user_id)
    on_series = col(LabelAssignment.series_id) == series.id
    ways = (
        theirs.where(TaskItem.series_id == series.id),
        theirs.join(LabelAssignment, col(LabelAssignment.id) == col(TaskItem.label_assignment_id))
        .where(on_series),
        theirs.join(Annotation, col(Annotation.id) == col(TaskItem.annotation_id))
        .join(LabelAssignment, col(LabelAssignment.id) == col(Annotation.label_assignment_id))
        .where(on_series),
    )
    return any(session.exec(way.limit(1)).first() is not None for way in ways)
