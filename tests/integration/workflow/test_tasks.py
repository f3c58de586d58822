"""Tasks through the REST API and the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from labelstack.db import session as db_session
from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, AuditEvent, LabelAssignment, Review, Task
from labelstack.services.errors import Conflict
from labelstack.services.workflow import transitions
from tests.integration.workflow import task_helpers as h

API = "/api/v1"


@pytest.fixture
def team(make_user, token_for) -> dict:
    users = {"admin": make_user("admin"), "ann": make_user("annotator"),
             "ann2": make_user("annotator"), "rev": make_user("reviewer")}
    return {**users, **{f"{k}_h": token_for(u) for k, u in users.items()}}


def _task(client: TestClient, team: dict, **body) -> dict:
    body.setdefault("name", "task")
    r = client.post(f"{API}/tasks", json=body, headers=team["admin_h"])
    assert r.status_code == 201, r.text
    return r.json()


def _status(client: TestClient, headers: dict, task_id: int, status: str):
    return client.post(f"{API}/tasks/{task_id}/status", json={"status": status}, headers=headers)


def test_create_starts_open_with_assignee_unassigned_without(client, session, team) -> None:
    s1, s2 = h.images(session, 2)
    a = _task(client, team, type="label", series_ids=[s2, s1], assignee_id=team["ann"].id,
              priority="high", due_date="2030-01-31", description="lungs")
    assert a["status"] == "open" and a["assignee_id"] == team["ann"].id
    assert (a["priority"], a["due_date"], a["creator_id"]) == ("high", "2030-01-31",
                                                              team["admin"].id)
    assert a["progress"] == {"done": 0, "total": 2, "time_spent": 0.0}
    items = client.get(f"{API}/tasks/{a['id']}/items", headers=team["admin_h"]).json()
    assert [(i["position"], i["series_id"]) for i in items] == [(0, s2), (1, s1)]
    b = _task(client, team, type="label", series_ids=[h.images(session)[0]])
    assert b["status"] == "unassigned" and b["assignee_id"] is None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "task.create",
                                                  AuditEvent.entity_id == a["id"])).one()
    assert event.actor_id == team["admin"].id and event.details["items"] == 2


@pytest.mark.parametrize("body,status", [
    pytest.param({"type": "label"}, 422, id="no-items"),
    pytest.param({"type": "label", "annotation_ids": [1]}, 422, id="wrong-kind"),
    pytest.param({"type": "annotation", "series_ids": [1]}, 422, id="images-without-labels"),
    pytest.param({"type": "label", "series_ids": [999_999]}, 404, id="unknown-image"),
    pytest.param({"type": "label", "series_ids": [1], "priority": "asap"}, 422, id="priority"),
    pytest.param({"type": "chores", "series_ids": [1]}, 422, id="type"),
])
def test_invalid_task_input(client, session, team, body: dict, status: int) -> None:
    h.images(session)
    r = client.post(f"{API}/tasks", json={"name": "t", **body}, headers=team["admin_h"])
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_assignee_must_have_the_role_for_the_type(client, session, team) -> None:
    (s1,) = h.images(session)
    r = client.post(f"{API}/tasks", json={"type": "label", "name": "t", "series_ids": [s1],
                                          "assignee_id": team["rev"].id}, headers=team["admin_h"])
    assert r.status_code == 422 and "annotator" in r.json()["detail"]


def test_label_task_full_flow(client, session, team) -> None:
    s1, s2 = h.images(session, 2)
    lung, heart = h.label(session, "Lung"), h.label(session, "Heart")
    task = _task(client, team, type="label", series_ids=[s1, s2], assignee_id=team["ann"].id)
    tid, ann = task["id"], team["ann_h"]
    r = client.post(f"{API}/tasks/{tid}/labels", json={"label_id": lung.id}, headers=ann)
    assert r.status_code == 409 and "in progress" in r.json()["detail"]
    started = _status(client, ann, tid, "in_progress").json()
    assert started["status"] == "in_progress" and started["started_at"]
    r = client.post(f"{API}/tasks/{tid}/labels", json={"label_id": lung.id, "series_ids": [s1]},
                    headers=ann)
    assert [a["task_id"] for a in r.json()["created"]] == [tid]
    assert client.get(f"{API}/tasks/{tid}", headers=ann).json()["progress"]["done"] == 1
    r = client.post(f"{API}/tasks/{tid}/labels", json={"label_id": heart.id}, headers=ann)
    assert sorted(a["series_id"] for a in r.json()["created"]) == [s1, s2]
    r = client.post(f"{API}/tasks/{tid}/labels", json={"label_id": heart.id,
                                                       "series_ids": [h.images(session)[0]]},
                    headers=ann)
    assert r.status_code == 422
    listed = client.get(f"{API}/label-assignments", params={"task_id": tid}, headers=ann).json()
    assert len(listed) == 3
    done = _status(client, ann, tid, "done").json()
    assert done["status"] == "done" and done["completed_at"] and done["progress"]["done"] == 2
    assert all(i["done"] for i in client.get(f"{API}/tasks/{tid}/items", headers=ann).json())
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "task.status",
                                                   AuditEvent.entity_id == tid)
                          .order_by(AuditEvent.id)).all()
    assert [(e.details["before"], e.details["after"]) for e in events] == [
        ("open", "in_progress"), ("in_progress", "done")]
    assert all(e.actor_id == team["ann"].id for e in events)


def test_label_task_removal_rules(client, session, team) -> None:
    s1, s2 = h.images(session, 2)
    lung = h.label(session, "Lung")
    by_admin = h.assignment(session, lung.id, s1, created_by_id=team["admin"].id)
    carries_work = h.assignment(session, h.label(session).id, s1, created_by_id=team["admin"].id)
    h.annotation(session, carries_work.id, team["ann2"].id)
    elsewhere = h.assignment(session, lung.id, s2)
    tid = _task(client, team, type="label", series_ids=[s1], assignee_id=team["ann"].id)["id"]
    _status(client, team["ann_h"], tid, "in_progress")
    url = f"{API}/tasks/{tid}/labels"
    assert client.delete(f"{url}/{carries_work.id}", headers=team["ann_h"]).status_code == 409
    assert client.delete(f"{url}/{elsewhere.id}", headers=team["ann_h"]).status_code == 422
    assert client.delete(f"{url}/{by_admin.id}", headers=team["ann2_h"]).status_code == 404
    assert client.delete(f"{url}/{by_admin.id}", headers=team["admin_h"]).status_code == 403
    assert client.delete(f"{url}/{by_admin.id}", headers=team["ann_h"]).status_code == 204
    assert session.get(LabelAssignment, carries_work.id) is not None


def test_refused_change_lists_allowed_states(client, session, team) -> None:
    tid = _task(client, team, type="label", series_ids=h.images(session),
                assignee_id=team["ann"].id)["id"]
    r = _status(client, team["ann_h"], tid, "done")
    assert r.status_code == 409
    assert r.json()["allowed"] == ["in_progress"] and "detail" in r.json()
    r = _status(client, team["admin_h"], tid, "done")
    assert r.status_code == 409 and r.json()["allowed"] == ["unassigned", "cancelled"]
    r = _status(client, team["admin_h"], tid, "bogus")
    assert r.status_code == 422


def test_cancel_and_reopen(client, session, team) -> None:
    tid = _task(client, team, type="label", series_ids=h.images(session),
                assignee_id=team["ann"].id)["id"]
    _status(client, team["ann_h"], tid, "in_progress")
    assert _status(client, team["ann_h"], tid, "cancelled").status_code == 409
    assert _status(client, team["admin_h"], tid, "cancelled").json()["status"] == "cancelled"
    assert _status(client, team["ann_h"], tid, "open").status_code == 409
    r = _status(client, team["admin_h"], tid, "open")
    assert r.json()["status"] == "open" and r.json()["assignee_id"] == team["ann"].id
    _status(client, team["ann_h"], tid, "in_progress")
    _status(client, team["ann_h"], tid, "done")
    assert _status(client, team["ann_h"], tid, "open").status_code == 409
    reopened = _status(client, team["admin_h"], tid, "open").json()
    assert reopened["status"] == "open" and reopened["completed_at"] is None


def test_cancelled_unassigned_task_needs_an_assignee_to_reopen(client, session, team) -> None:
    tid = _task(client, team, type="label", series_ids=h.images(session))["id"]
    _status(client, team["admin_h"], tid, "cancelled")
    r = _status(client, team["admin_h"], tid, "open")
    assert r.status_code == 409 and "needs an assignee" in r.json()["detail"]
    patched = client.patch(f"{API}/tasks/{tid}", json={"assignee_id": team["ann"].id},
                           headers=team["admin_h"]).json()
    assert patched["status"] == "cancelled"
    assert _status(client, team["admin_h"], tid, "open").json()["status"] == "open"


def test_assigning_and_unassigning_move_the_status(client, session, team) -> None:
    tid = _task(client, team, type="label", series_ids=h.images(session))["id"]
    url, admin = f"{API}/tasks/{tid}", team["admin_h"]
    assert client.patch(url, json={"assignee_id": team["ann"].id},
                        headers=admin).json()["status"] == "open"
    assert client.patch(url, json={"assignee_id": None}, headers=admin).json()["status"] == (
        "unassigned")
    client.patch(url, json={"assignee_id": team["ann"].id}, headers=admin)
    assert _status(client, admin, tid, "unassigned").json()["assignee_id"] is None
    client.patch(url, json={"assignee_id": team["ann"].id}, headers=admin)
    _status(client, team["ann_h"], tid, "in_progress")
    r = client.patch(url, json={"assignee_id": team["ann2"].id}, headers=admin)
    assert r.status_code == 409 and "keeps its assignee" in r.json()["detail"]


def test_edit_fields_and_audit_before_after(client, session, team) -> None:
    tid = _task(client, team, type="label", series_ids=h.images(session))["id"]
    r = client.patch(f"{API}/tasks/{tid}", json={"name": "Chest", "priority": "urgent",
                                                 "due_date": "2031-05-01", "description": "d"},
                     headers=team["admin_h"])
    body = r.json()
    assert (body["name"], body["priority"], body["due_date"]) == ("Chest", "urgent", "2031-05-01")
    assert body["row_version"] == 2
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "task.update")).one()
    assert event.details["priority"] == {"before": "normal", "after": "urgent"}
    r = client.patch(f"{API}/tasks/{tid}", json={"due_date": None}, headers=team["admin_h"])
    assert r.json()["due_date"] is None
    assert client.patch(f"{API}/tasks/{tid}", json={"name": None},
                        headers=team["admin_h"]).status_code == 422
    assert client.patch(f"{API}/tasks/{tid}", json={"status": "done"},
                        headers=team["admin_h"]).status_code == 422
    r = client.patch(f"{API}/tasks/{tid}", json={"name": "x", "row_version": 1},
                     headers=team["admin_h"])
    assert r.status_code == 409 and r.json()["row_version"] == 3


def test_bulk_patch_is_all_or_nothing(client, session, team) -> None:
    ids = [_task(client, team, type="label", series_ids=h.images(session))["id"]
           for _ in range(3)]
    r = client.patch(f"{API}/tasks", json={"ids": ids, "changes": {
        "priority": "high", "assignee_id": team["ann"].id}}, headers=team["admin_h"])
    assert r.status_code == 200, r.text
    assert {(t["priority"], t["status"]) for t in r.json()} == {("high", "open")}
    _status(client, team["ann_h"], ids[1], "in_progress")
    r = client.patch(f"{API}/tasks", json={"ids": ids, "changes": {
        "priority": "low", "assignee_id": None}}, headers=team["admin_h"])
    assert r.status_code == 409
    session.expire_all()
    assert {session.get(Task, i).priority for i in ids} == {"high"}
    r = client.patch(f"{API}/tasks", json={"ids": [*ids, 999_999], "changes": {"name": "n"}},
                     headers=team["admin_h"])
    assert r.status_code == 404 and r.json()["missing"] == [999_999]
    updates = session.exec(select(AuditEvent).where(AuditEvent.action == "task.update")).all()
    assert sorted(e.entity_id for e in updates) == ids


def test_take(client, session, team) -> None:
    tid = _task(client, team, type="label", series_ids=h.images(session))["id"]
    assert client.post(f"{API}/tasks/{tid}/take", headers=team["rev_h"]).status_code == 404
    r = client.post(f"{API}/tasks/{tid}/take", headers=team["ann_h"])
    assert r.json()["status"] == "open" and r.json()["assignee_id"] == team["ann"].id
    r = client.post(f"{API}/tasks/{tid}/take", headers=team["ann2_h"])
    assert r.status_code == 404  # taken by another: not theirs to see any more
    assert client.post(f"{API}/tasks/{tid}/take", headers=team["ann_h"]).status_code == 409
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "task.take")).one()
    assert event.actor_id == team["ann"].id


def test_same_item_cannot_sit_in_two_active_tasks_of_a_type(client, session, team) -> None:
    (s1,) = h.images(session)
    first = _task(client, team, type="label", series_ids=[s1])["id"]
    r = client.post(f"{API}/tasks", json={"type": "label", "name": "again", "series_ids": [s1]},
                    headers=team["admin_h"])
    assert r.status_code == 409 and r.json()["task_ids"] == [first]
    lung = h.label(session)
    _task(client, team, type="annotation", series_ids=[s1], label_ids=[lung.id])
    _status(client, team["admin_h"], first, "cancelled")
    second = _task(client, team, type="label", series_ids=[s1], assignee_id=team["ann"].id)
    client.patch(f"{API}/tasks/{first}", json={"assignee_id": team["ann2"].id},
                 headers=team["admin_h"])
    r = _status(client, team["admin_h"], first, "open")
    assert r.status_code == 409 and r.json()["task_ids"] == [second["id"]]


def test_annotation_task_over_images_creates_the_assignments(client, session, team) -> None:
    s1, s2 = h.images(session, 2)
    lung, heart = h.label(session, "Lung"), h.label(session, "Heart")
    existing = h.assignment(session, lung.id, s1)
    task = _task(client, team, type="annotation", series_ids=[s1, s2],
                 label_ids=[lung.id, heart.id])
    items = client.get(f"{API}/tasks/{task['id']}/items", headers=team["admin_h"]).json()
    pairs = session.exec(select(LabelAssignment)).all()
    assert len(items) == 4 and items[0]["label_assignment_id"] == existing.id
    assert {a.task_id for a in pairs if a.id != existing.id} == {task["id"]}
    trail = client.get(f"{API}/audit-events", params={"action": "label.assign"},
                       headers=team["admin_h"]).json()["items"]
    assert {(e["actor_id"], e["entity_type"]) for e in trail} == {(team["admin"].id, "label")}
    assert {e["entity_id"]: e["details"] for e in trail} == {
        lung.id: {"created": [s2], "existing": [s1], "task_id": task["id"]},
        heart.id: {"created": [s1, s2], "existing": [], "task_id": task["id"]}}


@pytest.mark.parametrize("made_over", ["images and labels", "label assignments"])
def test_archived_labels_cannot_be_drawn_on_any_path(client, session, team, made_over) -> None:
    """The rule held for tasks made over images + labels only; over label assignments the
    service created the task (only the dialog filtered them)."""
    (s1,) = h.images(session, 1)
    lung = h.label(session, "Lung")
    pair = h.assignment(session, lung.id, s1)
    lung.archived = True
    session.add(lung)
    session.commit()
    body = ({"series_ids": [s1], "label_ids": [lung.id]} if made_over == "images and labels"
            else {"label_assignment_ids": [pair.id]})
    r = client.post(f"{API}/tasks", json={"type": "annotation", "name": "t", **body},
                    headers=team["admin_h"])
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "archived labels cannot be drawn: Lung"
    assert session.exec(select(Task)).all() == []


def test_annotation_task_start_and_finish(client, session, team) -> None:
    s1, s2 = h.images(session, 2)
    lung = h.label(session)
    pairs = [h.assignment(session, lung.id, s) for s in (s1, s2)]
    tid = _task(client, team, type="annotation", label_assignment_ids=[p.id for p in pairs],
                assignee_id=team["ann"].id)["id"]
    assert _status(client, team["ann_h"], tid, "in_progress").status_code == 200
    made = session.exec(select(Annotation).where(Annotation.task_id == tid)
                        .order_by(Annotation.id)).all()
    assert [a.author_id for a in made] == [team["ann"].id] * 2
    r = _status(client, team["ann_h"], tid, "done")
    assert r.status_code == 409 and r.json()["annotation_ids"] == [a.id for a in made]
    h.save(session, made[0].id, team["ann"].id, 30.0)
    progress = client.get(f"{API}/tasks/{tid}", headers=team["ann_h"]).json()["progress"]
    assert progress == {"done": 1, "total": 2, "time_spent": 30.0}
    r = _status(client, team["ann_h"], tid, "done")
    assert r.status_code == 409 and r.json()["annotation_ids"] == [made[1].id]
    h.save(session, made[1].id, team["ann"].id, 12.5)
    done = _status(client, team["ann_h"], tid, "done").json()
    assert done["status"] == "done"
    assert done["progress"] == {"done": 2, "total": 2, "time_spent": 42.5}


def test_review_task_start_finish_and_no_self_review(client, session, team, make_user) -> None:
    both = make_user("annotator", "reviewer")
    (s1,) = h.images(session)
    pair = h.assignment(session, h.label(session).id, s1)
    own = h.annotation(session, pair.id, both.id)
    r = client.post(f"{API}/tasks", json={"type": "review", "name": "r", "annotation_ids": [own.id],
                                          "assignee_id": both.id}, headers=team["admin_h"])
    assert r.status_code == 409 and r.json()["annotation_ids"] == [own.id]
    tid = _task(client, team, type="review", annotation_ids=[own.id])["id"]
    assert client.patch(f"{API}/tasks/{tid}", json={"assignee_id": both.id},
                        headers=team["admin_h"]).status_code == 409
    assert client.post(f"{API}/tasks/{tid}/take", headers=team["rev_h"]).status_code == 200
    assert _status(client, team["rev_h"], tid, "in_progress").status_code == 200
    review = session.exec(select(Review).where(Review.task_id == tid)).one()
    assert review.reviewer_id == team["rev"].id
    r = _status(client, team["rev_h"], tid, "done")
    assert r.status_code == 409 and r.json()["review_ids"] == [review.id]
    review.result = "accepted"
    session.add(review)
    session.commit()
    assert client.get(f"{API}/tasks/{tid}", headers=team["rev_h"]).json()["progress"]["done"] == 1
    assert _status(client, team["rev_h"], tid, "done").json()["status"] == "done"


def test_list_filters_sorting_and_paging(client, session, team) -> None:
    def make(name: str, **body) -> int:
        return _task(client, team, type=body.pop("type", "label"), name=name,
                     series_ids=h.images(session), **body)["id"]

    a = make("Chest CT", priority="low", due_date="2030-01-01", assignee_id=team["ann"].id)
    b = make("Brain MR", priority="urgent", due_date="2030-03-01",
             description="Glioma 100% outline")
    c = make("Knee", priority="high", due_date="2030-02-01", assignee_id=team["ann2"].id)
    d = make("Spine", priority="normal")
    admin = team["admin_h"]

    def ids(**params) -> list[int]:
        r = client.get(f"{API}/tasks", params=params, headers=admin)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert ids(sort="-priority") == [b, c, d, a]
    assert ids(sort="priority") == [a, d, c, b]
    assert ids(sort="due_date") == [a, c, b, d]
    assert ids(sort="-created_at") == [d, c, b, a]
    assert ids(status="unassigned", sort="id") == [b, d]
    assert ids(status=["open", "unassigned"], sort="id") == [a, b, c, d]
    assert ids(assignee_id=team["ann2"].id) == [c]
    assert ids(priority=["high", "urgent"], sort="id") == [b, c]
    assert ids(due_before="2030-02-01", sort="id") == [a, c]
    assert ids(due_after="2030-02-01", sort="id") == [b, c]
    assert ids(q="glioma 100%") == [b]
    assert ids(q="chest") == [a]
    assert ids(q="_") == []
    assert ids(type="review") == []
    page = client.get(f"{API}/tasks", params={"sort": "id", "page": 2, "page_size": 3},
                      headers=admin).json()
    assert ([t["id"] for t in page["items"]], page["total"], page["page"], page["page_size"]) == (
        [d], 4, 2, 3)
    assert page["items"][0]["progress"] == {"done": 0, "total": 1, "time_spent": 0.0}
    assert client.get(f"{API}/tasks", params={"sort": "password"},
                      headers=admin).status_code == 422
    mine = client.get(f"{API}/tasks", params={"sort": "id"}, headers=team["ann_h"]).json()
    assert [t["id"] for t in mine["items"]] == [a, b, d] and mine["total"] == 3
    assert client.get(f"{API}/tasks", headers=team["rev_h"]).json()["total"] == 0


@pytest.mark.parametrize("how", ["stale-session", "threads"])
def test_concurrent_changes_one_wins(session, team, how: str) -> None:
    tid = transitions.create_task(session, actor=team["admin"], data=transitions.TaskCreate(
        type="label", name="t", series_ids=h.images(session), assignee_id=team["ann"].id)).id
    results: list[object] = []
    barrier = threading.Barrier(2)

    def change(target: TaskStatus, actor_key: str) -> None:
        with db_session.session_scope() as mine:
            held = mine.get(Task, tid)  # both read version 1 before either writes (kept: the
            assert held is not None     # identity map is weak, a dropped object is re-read)
            if how == "threads":
                barrier.wait()
            try:
                results.append(transitions.set_status(mine, actor=team[actor_key], task_id=tid,
                                                status=target).status)
            except Conflict as exc:
                results.append(exc)

    calls = [(TaskStatus.in_progress, "ann"), (TaskStatus.cancelled, "admin")]
    if how == "threads":
        threads = [threading.Thread(target=change, args=call) for call in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        with db_session.session_scope() as stale:
            held = stale.get(Task, tid)
            change(*calls[0])
            try:
                results.append(transitions.set_status(stale, actor=team["admin"], task_id=held.id,
                                                status=TaskStatus.cancelled).status)
            except Conflict as exc:
                results.append(exc)
    winners = [r for r in results if not isinstance(r, Conflict)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert "changed by someone else" in losers[0].detail
    session.expire_all()
    final = session.get(Task, tid)
    assert final.status == winners[0] and final.row_version == 2
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "task.status")).all()
    assert len(events) == 1


def test_reading_dates_are_dates(session, team) -> None:
    task = transitions.create_task(session, actor=team["admin"], data=transitions.TaskCreate(
        type="label", name="t", series_ids=h.images(session), due_date=date(2030, 1, 2)))
    session.expire_all()
    assert session.get(Task, task.id).due_date == date(2030, 1, 2)
