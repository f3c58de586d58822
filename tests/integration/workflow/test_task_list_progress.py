"""The task list reads each page with its progress in one statement: what it shows must be
what a task's own page shows, in the order and page asked for."""

from __future__ import annotations

from sqlmodel import select

from labelstack.db.models import Annotation
from tests.integration.workflow import task_helpers as h

API = "/api/v1"


def _progress(client, headers: dict, **params) -> dict[int, dict]:
    r = client.get(f"{API}/tasks", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {t["id"]: t["progress"] for t in r.json()["items"]}


def test_list_progress_matches_the_task_after_work(client, session, make_user, token_for) -> None:
    admin, ann = make_user("admin"), make_user("annotator")
    admin_h, ann_h = token_for(admin), token_for(ann)
    lung = h.label(session)
    pairs = [h.assignment(session, lung.id, s) for s in h.images(session, 3)]
    busy = client.post(f"{API}/tasks", headers=admin_h, json={
        "type": "annotation", "name": "busy", "assignee_id": ann.id,
        "label_assignment_ids": [p.id for p in pairs[:2]]}).json()["id"]
    idle = client.post(f"{API}/tasks", headers=admin_h, json={
        "type": "annotation", "name": "idle", "assignee_id": ann.id,
        "label_assignment_ids": [pairs[2].id]}).json()["id"]
    client.post(f"{API}/tasks/{busy}/status", json={"status": "in_progress"}, headers=ann_h)
    made = session.exec(select(Annotation).where(Annotation.task_id == busy)
                        .order_by(Annotation.id)).all()
    h.save(session, made[0].id, ann.id, 30.0)

    listed = _progress(client, ann_h)
    assert listed[busy] == {"done": 1, "total": 2, "time_spent": 30.0}
    assert listed[idle] == {"done": 0, "total": 1, "time_spent": 0.0}
    for tid in (busy, idle):
        own = client.get(f"{API}/tasks/{tid}", headers=ann_h).json()["progress"]
        assert listed[tid] == own


def test_list_keeps_the_order_and_page_asked_for(client, session, make_user, token_for) -> None:
    admin_h = token_for(make_user("admin"))
    for n, series_id in enumerate(h.images(session, 5)):
        client.post(f"{API}/tasks", headers=admin_h, json={
            "type": "label", "name": f"task {'edcba'[n]}", "series_ids": [series_id]})
    r = client.get(f"{API}/tasks", params={"sort": "name", "page": 2, "page_size": 2},
                   headers=admin_h).json()
    assert [t["name"] for t in r["items"]] == ["task c", "task d"]
    assert r["total"] == 5 and all(t["progress"]["total"] == 1 for t in r["items"])
    beyond = client.get(f"{API}/tasks", params={"page": 9, "page_size": 2},
                        headers=admin_h).json()
    assert beyond["items"] == [] and beyond["total"] == 5


def test_same_filters_other_values_other_tasks(client, session, make_user, token_for) -> None:
    """Requests with the same filters share one statement; each gets its own values' rows."""
    admin, ann, ann2 = make_user("admin"), make_user("annotator"), make_user("annotator")
    admin_h = token_for(admin)
    for name, who, series_id in zip(("a", "b", "c"), (ann, ann2, None), h.images(session, 3),
                                    strict=True):
        client.post(f"{API}/tasks", headers=admin_h, json={
            "type": "label", "name": name, "series_ids": [series_id],
            "assignee_id": who.id if who else None})

    def names(headers: dict, **params) -> list[str]:
        r = client.get(f"{API}/tasks", params={"sort": "name", **params}, headers=headers)
        assert r.status_code == 200, r.text
        return [t["name"] for t in r.json()["items"]]

    assert names(admin_h, assignee_id=ann.id) == ["a"]
    assert names(admin_h, assignee_id=ann2.id) == ["b"]
    assert names(admin_h, status=["unassigned"]) == ["c"]
    assert names(admin_h, status=["open"]) == ["a", "b"]
    assert names(token_for(ann)) == ["a", "c"]  # own + takeable
    assert names(token_for(ann2)) == ["b", "c"]
