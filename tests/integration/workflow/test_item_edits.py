"""Adding and removing items of a task before it starts, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelstack.db.enums import TaskStatus, TaskType
from labelstack.db.models import AuditEvent, TaskItem
from labelstack.services.errors import Conflict, Forbidden, InvalidInput
from labelstack.services.tasks.items import TaskContent
from labelstack.services.workflow import edits, transitions
from labelstack.services.workflow.edits import ItemChanges
from labelstack.services.workflow.transitions import TaskCreate
from tests.integration.workflow import task_helpers as h


def _label_task(session, admin, series_ids, **fields):
    return transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.label, name="images", series_ids=series_ids, **fields))


def _items(session, task_id: int) -> list[tuple[int, int | None]]:
    rows = session.exec(select(TaskItem).where(TaskItem.task_id == task_id)
                        .order_by(TaskItem.position)).all()
    return [(i.position, i.series_id) for i in rows]


def test_items_are_added_after_the_last_and_removed_with_an_audit_event(session,
                                                                         make_user) -> None:
    admin = make_user("admin")
    s1, s2, s3 = h.images(session, 3)
    task = _label_task(session, admin, [s1, s2])
    edits.edit_items(session, actor=admin, task_id=task.id, data=ItemChanges(
        add=TaskContent(series_ids=[s3, s2]), remove=[s1], row_version=task.row_version))
    assert _items(session, task.id) == [(1, s2), (2, s3)]  # s2 was there: not added twice
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == task.id,
                                                  AuditEvent.entity_type == "task")
                         .order_by(AuditEvent.id.desc())).first()
    assert event.details == {"items": {"added": [s3], "removed": [s1]}}


def test_started_tasks_keep_their_items(session, make_user) -> None:
    admin, ann = make_user("admin"), make_user("annotator")
    s1, s2 = h.images(session, 2)
    task = _label_task(session, admin, [s1], assignee_id=ann.id)
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.in_progress)
    with pytest.raises(Conflict, match="only before the task starts; this one is in progress"):
        edits.edit_items(session, actor=admin, task_id=task.id,
                         data=ItemChanges(add=TaskContent(series_ids=[s2])))
    assert _items(session, task.id) == [(0, s1)]


@pytest.mark.parametrize("changes, error, message", [
    ({"remove": ["first"]}, InvalidInput, "at least one item"),
    ({"remove": [999_999]}, InvalidInput, "not items of task"),
    ({}, InvalidInput, "nothing to change"),
    ({"add": {"label_assignment_ids": [1]}}, InvalidInput, "a label task holds series_ids"),
])
def test_bad_item_changes_are_refused_and_change_nothing(session, make_user, changes, error,
                                                         message) -> None:
    admin = make_user("admin")
    (s1,) = h.images(session, 1)
    task = _label_task(session, admin, [s1])
    if changes.get("remove") == ["first"]:
        changes = {"remove": [s1]}
    with pytest.raises(error, match=message):
        edits.edit_items(session, actor=admin, task_id=task.id, data=ItemChanges(**changes))
    session.rollback()
    assert _items(session, task.id) == [(0, s1)]


def test_an_item_of_another_active_task_cannot_be_added(session, make_user) -> None:
    admin = make_user("admin")
    s1, s2 = h.images(session, 2)
    _label_task(session, admin, [s2])
    task = _label_task(session, admin, [s1])
    with pytest.raises(Conflict, match="already in another active label task"):
        edits.edit_items(session, actor=admin, task_id=task.id,
                         data=ItemChanges(add=TaskContent(series_ids=[s2])))


def test_only_admins_edit_items_and_a_stale_version_is_refused(session, make_user) -> None:
    admin, ann = make_user("admin"), make_user("annotator")
    s1, s2 = h.images(session, 2)
    task = _label_task(session, admin, [s1])
    with pytest.raises(Forbidden):
        edits.edit_items(session, actor=ann, task_id=task.id,
                         data=ItemChanges(add=TaskContent(series_ids=[s2])))
    with pytest.raises(Conflict, match="changed by someone else"):
        edits.edit_items(session, actor=admin, task_id=task.id, data=ItemChanges(
            add=TaskContent(series_ids=[s2]), row_version=task.row_version + 5))
