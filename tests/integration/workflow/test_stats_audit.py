"""The audit trail (admin reading, filters, paging) and the per-user statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, Review
from labelstack.db.types import utcnow
from labelstack.services import audit_log, stats
from labelstack.services.annotations import reviews, revisions
from labelstack.services.errors import InvalidInput
from labelstack.services.workflow import transitions
from tests.integration.workflow.annotation_helpers import (
    annotation_task,
    blob,
    make_assignment,
    make_series,
    review_task,
)


@pytest.fixture
def worked(session: Session, make_user):
    """Two annotations saved (three revisions, 30 s), one accepted, one rejected."""
    admin, ann, reviewer = make_user("admin"), make_user("annotator"), make_user("reviewer")
    series = make_series(session)
    task = annotation_task(session, admin, ann, [make_assignment(session, series),
                                                 make_assignment(session, series)])
    first, second = session.exec(select(Annotation).where(Annotation.task_id == task.id)
                                 .order_by(Annotation.id)).all()
    revisions.save_mask(session, actor=ann, annotation_id=first.id, mask=blob(), time_spent=10)
    revisions.save_mask(session, actor=ann, annotation_id=first.id, mask=blob(size=3),
                        time_spent=5)
    revisions.save_mask(session, actor=ann, annotation_id=second.id, mask=blob(), time_spent=15)
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    check = review_task(session, admin, reviewer, [first.id, second.id])
    found = session.exec(select(Review).where(Review.task_id == check.id)
                         .order_by(Review.annotation_id)).all()
    reviews.decide_review(session, actor=reviewer, review_id=found[0].id, result="accepted")
    reviews.decide_review(session, actor=reviewer, review_id=found[1].id, result="rejected",
                          comment="redo")
    transitions.set_status(session, actor=reviewer, task_id=check.id, status=TaskStatus.done)
    return admin, ann, reviewer, first, second


def test_audit_events_filters_and_paging(client: TestClient, worked, token_for) -> None:
    admin, ann, reviewer, first, _ = worked
    url, headers = "/api/v1/audit-events", token_for(admin)
    saves = client.get(url, params={"action": "annotation.save"}, headers=headers).json()
    assert saves["total"] == 3
    assert [e["entity_id"] for e in saves["items"]] == [first.id, first.id, first.id + 1]
    assert {e["actor_id"] for e in saves["items"]} == {ann.id}
    assert [e["details"]["sequence"] for e in saves["items"]] == [1, 2, 1]
    decided = client.get(url, params={"action": "review.decide"}, headers=headers).json()
    assert [e["details"]["result"] for e in decided["items"]] == ["accepted", "rejected"]
    assert decided["items"][1]["details"]["status"] == {"before": "in_review", "after": "rejected"}
    mine = client.get(url, params={"actor_id": reviewer.id, "action": "review.*"},
                      headers=headers).json()
    assert {e["action"] for e in mine["items"]} == {"review.create", "review.decide"}
    one = client.get(url, params={"entity_type": "annotation", "entity_id": first.id},
                     headers=headers).json()
    assert [e["action"] for e in one["items"]] == ["annotation.create", "annotation.save",
                                                   "annotation.save", "annotation.status",
                                                   "annotation.status", "annotation.status"]
    everything = client.get(url, headers=headers).json()
    page = client.get(url, params={"limit": 2, "offset": 1}, headers=headers).json()
    assert page["total"] == everything["total"]
    assert page["items"] == everything["items"][1:3]
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert client.get(url, params={"since": future}, headers=headers).json()["total"] == 0
    assert client.get(url, params={"until": future}, headers=headers).json()["total"] == \
        everything["total"]
    assert client.get(url, params={"limit": 0}, headers=headers).status_code == 422
    for user in (ann, reviewer):
        assert client.get(url, headers=token_for(user)).status_code == 403
    assert client.get(url).status_code == 401



def test_audit_events_newest_or_oldest_first(client: TestClient, session: Session, worked,
                                             token_for) -> None:
    admin = worked[0]
    url, headers = "/api/v1/audit-events", token_for(admin)
    oldest = client.get(url, params={"order": "oldest"}, headers=headers).json()
    assert oldest == client.get(url, headers=headers).json()  # the default
    newest = client.get(url, params={"order": "newest"}, headers=headers).json()
    assert newest["total"] == oldest["total"] > 3
    assert newest["items"] == oldest["items"][::-1]
    page = client.get(url, params={"order": "newest", "limit": 2, "offset": 1},
                      headers=headers).json()
    assert page["items"] == newest["items"][1:3]
    assert client.get(url, params={"order": "random"}, headers=headers).status_code == 422
    with pytest.raises(InvalidInput):
        audit_log.list_events(session, actor=admin, order="random")  # type: ignore[arg-type]


def test_statistics_match_the_work(client: TestClient, worked, token_for) -> None:
    admin, ann, reviewer, _, _ = worked
    today = utcnow().date().isoformat()
    everyone = client.get("/api/v1/stats/users", headers=token_for(admin))
    assert everyone.status_code == 200
    by_id = {s["user_id"]: s for s in everyone.json()}
    a = by_id[ann.id]["total"]
    assert (a["annotations_saved"], a["active_time"]) == (3, 30.0)
    assert a["tasks_done"] == {"annotation": 1}
    assert a["review_results_received"] == {"accepted": 1, "rejected": 1}
    assert by_id[ann.id]["per_day"] == [{"day": today, **a}]
    r = by_id[reviewer.id]["total"]
    assert (r["reviews_given"], r["tasks_done"], r["annotations_saved"]) == (2, {"review": 1}, 0)
    me = client.get("/api/v1/stats/me", headers=token_for(ann)).json()
    assert me == by_id[ann.id]
    later = (utcnow() + timedelta(hours=1)).isoformat()
    empty = client.get("/api/v1/stats/me", params={"since": later},
                       headers=token_for(ann)).json()
    assert empty["total"]["annotations_saved"] == 0 and empty["per_day"] == []
    assert client.get("/api/v1/stats/users", headers=token_for(ann)).status_code == 403
    assert client.get(f"/api/v1/stats/users/{reviewer.id}",
                      headers=token_for(ann)).status_code == 403
    assert client.get(f"/api/v1/stats/users/{ann.id}", headers=token_for(ann)).json() == me
    assert client.get("/api/v1/stats/me").status_code == 401


@pytest.mark.parametrize("bounds", [{"until": "2030-01-01"}, {"since": "2000-01-01T00:00:00"},
                                    {"since": "2000-01-01", "until": "2030-01-01T12:00:00"}])
def test_statistics_take_naive_bounds_as_utc(client: TestClient, worked, token_for,
                                             bounds: dict[str, str]) -> None:
    admin, ann = worked[0], worked[1]
    everyone = client.get("/api/v1/stats/users", params=bounds, headers=token_for(admin))
    assert everyone.status_code == 200, everyone.text
    assert {s["user_id"]: s for s in everyone.json()}[ann.id]["total"]["annotations_saved"] == 3
    me = client.get("/api/v1/stats/me", params=bounds, headers=token_for(ann))
    assert me.status_code == 200, me.text
    assert me.json()["total"]["annotations_saved"] == 3
    naive_future = (utcnow() + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    later = client.get("/api/v1/stats/me", params={"since": naive_future},
                       headers=token_for(ann)).json()
    assert later["total"]["annotations_saved"] == 0


def test_reopening_a_task_keeps_the_work_done_in_the_statistics(session: Session, worked) -> None:
    admin, ann, reviewer, first, _ = worked
    check = session.exec(select(Review).where(Review.annotation_id == first.id)).one().task_id
    transitions.set_status(session, actor=admin, task_id=check, status=TaskStatus.open)
    assert dict(stats.user_stats(session, actor=admin, user_id=reviewer.id).total.tasks_done) \
        == {"review": 1}
    transitions.set_status(session, actor=reviewer, task_id=check, status=TaskStatus.in_progress)
    transitions.set_status(session, actor=reviewer, task_id=check, status=TaskStatus.done)
    again = stats.user_stats(session, actor=admin, user_id=reviewer.id)
    assert dict(again.total.tasks_done) == {"review": 2}  # each finish is work done
    assert dict(stats.my_stats(session, actor=ann).total.tasks_done) == {"annotation": 1}
