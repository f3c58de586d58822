"""One active task per item is the database's rule too, not only a check before the write:
two admins creating tasks over one image at once get one task and one clear 409, and a
write that skipped the service's check is still refused (partial unique indexes on
`task_items` where `active`; migration 0004)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import TaskStatus, TaskType
from labelstack.db.migrate import upgrade
from labelstack.db.models import Task, TaskItem, User
from labelstack.db.session import make_engine
from labelstack.services.errors import Conflict
from labelstack.services.tasks import items
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate
from tests.integration.threads import in_threads
from tests.integration.workflow import task_helpers as h

CLIENTS = 3
IN_ANOTHER = "already in another active label task"


def _label_task(session: Session, admin: User, series_id: int, name: str = "t",
                assignee: User | None = None) -> Task:
    return transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.label, name=name, series_ids=[series_id],
        assignee_id=assignee.id if assignee else None))


def test_concurrent_creates_over_one_image_make_one_task(session: Session, make_user,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    admin = make_user("admin")
    (series_id,) = h.images(session)
    checked = threading.Barrier(CLIENTS, timeout=30)
    check = items.check_exclusive

    def check_then_wait(*args, **kwargs) -> None:
        check(*args, **kwargs)
        checked.wait()  # every client has found the image free before any writes

    monkeypatch.setattr(items, "check_exclusive", check_then_wait)
    outcomes = in_threads(
        lambda s, i: _label_task(s, s.get(User, admin.id), series_id, f"t{i}").id, CLIENTS)

    made = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(made) == 1 and len(refused) == CLIENTS - 1, outcomes
    assert {str(c) for c in refused} == {IN_ANOTHER}
    session.expire_all()
    assert session.exec(select(Task.id)).all() == made
    assert session.exec(select(TaskItem.task_id).where(TaskItem.series_id == series_id)).all() \
        == made


def test_the_database_refuses_what_the_check_would_have(session: Session, make_user,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    admin, annotator = make_user("admin"), make_user("annotator")
    (series_id,) = h.images(session)
    first = _label_task(session, admin, series_id, "first", annotator)
    monkeypatch.setattr(items, "check_exclusive", lambda *a, **k: None)

    with pytest.raises(Conflict, match=IN_ANOTHER):
        _label_task(session, admin, series_id, "second")
    assert session.exec(select(Task.name)).all() == ["first"]

    transitions.set_status(session, actor=admin, task_id=first.id, status=TaskStatus.cancelled)
    second = _label_task(session, admin, series_id, "second")  # a cancelled task frees its items
    assert second.status == TaskStatus.unassigned and second.name == "second"
    with pytest.raises(Conflict, match=IN_ANOTHER):  # reopening would make two active
        transitions.set_status(session, actor=admin, task_id=first.id, status=TaskStatus.open)
    session.expire_all()
    assert session.get(Task, first.id).status == TaskStatus.cancelled


def test_active_follows_the_task_status(session: Session, make_user) -> None:
    admin, annotator = make_user("admin"), make_user("annotator")
    (series_id,) = h.images(session)
    task = transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.label, name="t", series_ids=[series_id], assignee_id=annotator.id))

    def active() -> list[bool]:
        session.expire_all()
        return list(session.exec(select(TaskItem.active).where(TaskItem.task_id == task.id)))

    assert active() == [True]
    transitions.set_status(session, actor=annotator, task_id=task.id, status=TaskStatus.in_progress)
    assert active() == [True]
    transitions.set_status(session, actor=annotator, task_id=task.id, status=TaskStatus.done)
    assert active() == [False]
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    assert active() == [True]


def test_the_upgrade_marks_existing_items_and_keeps_old_duplicates(empty_url: str) -> None:
    """Items of active tasks become active; of two active tasks that already shared an
    image (the race of old), only the earlier item is marked, so the index can be built."""
    upgrade(empty_url, "0003")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO studies (id, study_uid, patient_id, patient_name, study_description, "
                "accession_number, created_at) VALUES (1, '1.2', '', '', '', '', :now)"),
                {"now": "2026-01-01 00:00:00+00:00"})
            conn.execute(sa.text(
                "INSERT INTO series (id, series_uid, study_id, modality, body_part, "
                "series_description, number_of_frames, number_of_instances, store, incomplete, "
                "created_at, updated_at) VALUES (1, '1.2.3', 1, 'CT', '', '', 0, 0, 'local', "
                ":no, :now, :now)"), {"now": "2026-01-01 00:00:00+00:00", "no": False})
            for task_id, status in [(1, "open"), (2, "in_progress"), (3, "done")]:
                conn.execute(sa.text(
                    "INSERT INTO tasks (id, type, name, description, priority, status, created_at, "
                    "updated_at, time_spent, row_version) VALUES (:id, 'label', 't', '', "
                    "'normal', :status, :now, :now, 0, 1)"),
                    {"id": task_id, "status": status, "now": "2026-01-01 00:00:00+00:00"})
                conn.execute(sa.text(
                    "INSERT INTO task_items (id, task_id, position, series_id, done) "
                    "VALUES (:id, :id, 0, 1, :no)"), {"id": task_id, "no": False})
        upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(sa.column("task_id"), sa.column("active"))
                                .select_from(sa.table("task_items"))
                                .order_by(sa.column("task_id"))).all()
        assert [(r[0], bool(r[1])) for r in rows] == [(1, True), (2, False), (3, False)]
    finally:
        engine.dispose()


def test_a_second_active_row_is_refused_by_the_database(session: Session, make_user) -> None:
    admin = make_user("admin")
    (series_id,) = h.images(session)
    first = _label_task(session, admin, series_id, "first")
    other = Task(type=TaskType.label, name="raw", status=TaskStatus.open)
    session.add(other)
    session.flush()
    session.add(TaskItem(task_id=other.id, position=0, series_id=series_id, active=True))
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()
    assert session.exec(select(col(Task.id))).all() == [first.id]
