"""What the Statistics page charts and tabulates: throughput per user and day or week,
review outcomes per annotator and label, the team overview, and the activity feed's
sentences; through the services and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelstack.db.enums import AuditAction
from labelstack.db.models import AuditEvent, Label, LabelAssignment, Series
from labelstack.services import activity, stats
from labelstack.services.errors import Forbidden, InvalidInput
from tests.integration.workflow.test_stats_audit import worked  # noqa: F401  (the fixture)


def test_throughput_per_day_and_week(session: Session, worked) -> None:  # noqa: F811
    admin, ann, reviewer, *_ = worked
    today = date.today()
    daily = stats.throughput(session, actor=admin, first=today - timedelta(days=13), last=today)
    assert daily.periods == [today - timedelta(days=n) for n in range(13, -1, -1)]
    lines = {line.user.id: line for line in daily.users}
    assert set(lines) == {ann.id, reviewer.id}  # the admin did no work
    assert lines[ann.id].annotations_saved == [0] * 13 + [3]
    assert lines[ann.id].tasks_done == [0] * 13 + [1]
    assert lines[ann.id].active_time == [0.0] * 13 + [30.0]
    assert lines[reviewer.id].tasks_done == [0] * 13 + [1]
    weekly = stats.throughput(session, actor=admin, first=today - timedelta(days=13),
                              last=today, period="week")
    assert all(p.weekday() == 0 for p in weekly.periods) and len(weekly.periods) in (2, 3)
    assert {line.user.id: sum(line.annotations_saved) for line in weekly.users} == {
        ann.id: 3, reviewer.id: 0}
    assert weekly.users[0].annotations_saved[-1] == 3  # this week
    yesterday = stats.throughput(session, actor=admin, first=today - timedelta(days=1),
                                 last=today - timedelta(days=1))
    assert yesterday.users == []


def test_throughput_refuses_bad_ranges_and_non_admins(session: Session, worked) -> None:  # noqa: F811
    admin, ann, *_ = worked
    with pytest.raises(InvalidInput, match="ends before it starts"):
        stats.throughput(session, actor=admin, first=date(2030, 1, 2), last=date(2030, 1, 1))
    with pytest.raises(InvalidInput, match="at most 3660 days"):
        stats.throughput(session, actor=admin, first=date.min, last=date.max)
    edge = stats.throughput(session, actor=admin, first=date.max - timedelta(days=1),
                            last=date.max)
    assert len(edge.periods) == 2 and edge.users == []
    with pytest.raises(InvalidInput, match="'day' or 'week'"):
        stats.throughput(session, actor=admin, first=date.today(), last=date.today(),
                         period="month")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        stats.throughput(session, actor=ann, first=date.today(), last=date.today())


def test_review_outcomes_per_annotator_and_label(session: Session, worked) -> None:  # noqa: F811
    admin, ann, _reviewer, first, second = worked
    found = stats.review_outcomes(session, actor=admin)
    assert [(o.name, o.decided, o.accept_rate) for o in found.per_annotator] == [
        (ann.display_name, 2, 0.5)]
    labels = {o.name: (dict(o.counts), o.accept_rate) for o in found.per_label}
    assert labels == {_label(session, first.label_assignment_id): ({"accepted": 1}, 1.0),
                      _label(session, second.label_assignment_id): ({"rejected": 1}, 0.0)}
    later = date.today() + timedelta(days=2)
    assert stats.review_outcomes(session, actor=admin, since=datetime.combine(
        later, time.min, UTC)).per_annotator == []


def _label(session: Session, assignment_id: int) -> str:
    pair = session.get(LabelAssignment, assignment_id)
    assert pair is not None
    label = session.get(Label, pair.label_id)
    assert label is not None
    return label.name


def test_team_overview(session: Session, worked) -> None:  # noqa: F811
    admin, *_ = worked
    o = stats.team_overview(session, actor=admin)
    assert (o.people_active, o.tasks_done, o.annotations_saved, o.active_time) == (2, 2, 3, 30.0)
    assert (o.reviews_decided, o.accept_rate) == (2, 0.5)
    assert o.tasks_now["done"] == 2 and o.tasks_now["open"] == 0 and o.overdue_now == 0


def test_activity_reads_as_sentences_with_links(session: Session, worked) -> None:  # noqa: F811
    admin, ann, reviewer, first, _ = worked
    found, total = activity.feed(session, actor=admin, limit=200)
    assert total == len(found) and found[0].at >= found[-1].at  # newest first
    label = _label(session, first.label_assignment_id)
    saves = [a for a in found if a.action == "annotation.save"]
    assert len(saves) == 3
    text = saves[-1].sentence
    assert text.startswith(f"{ann.display_name} saved the {label} annotation (version 1) on CT")
    assert text.endswith(" in task 'draw'")
    links = {p.text: p.href for p in saves[-1].parts if p.href}
    series = session.get(Series, _series_id(session, first.label_assignment_id))
    assert series is not None
    assert links[ann.display_name] == f"/stats?user={ann.id}"
    assert links["task 'draw'"] == f"/tasks/{first.task_id}"
    assert f"/view/{series.series_uid}" in links.values()
    rejected = next(a for a in found if a.action == "review.decide"
                    and "rejected" in a.sentence)
    assert rejected.sentence.startswith(f"{reviewer.display_name} rejected the ")
    assert rejected.sentence.endswith(" in task 'check': “redo”")
    assert not any("{" in a.sentence or a.sentence.endswith(" ") for a in found)
    with pytest.raises(Forbidden):
        activity.feed(session, actor=ann)


def _series_id(session: Session, assignment_id: int) -> int:
    pair = session.get(LabelAssignment, assignment_id)
    assert pair is not None
    return pair.series_id


def test_activity_names_what_is_gone(session: Session, worked) -> None:  # noqa: F811
    admin, *_ = worked
    task_events = [a for a in activity.feed(session, actor=admin, limit=200)[0]
                   if a.action == "task.create"]
    assert task_events and all("task '" in a.sentence for a in task_events)
    ghost = AuditEvent(actor_id=None, action=AuditAction.task_take, entity_type="task", entity_id=999_999)
    session.add(ghost)
    session.commit()
    newest = activity.feed(session, actor=admin, limit=1)[0][0]
    assert newest.sentence == "The system took a deleted task"
    assert all(p.href is None for p in newest.parts)


def test_stats_api(client: TestClient, worked, token_for) -> None:  # noqa: F811
    admin, ann, *_ = worked
    headers, today = token_for(admin), date.today().isoformat()
    r = client.get("/api/v1/stats/throughput", params={"first": today, "last": today,
                                                         "period": "week"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == "week" and len(body["periods"]) == 1
    assert {u["name"]: u["annotations_saved"] for u in body["users"]}[ann.display_name] == [3]
    assert client.get("/api/v1/stats/throughput", params={
        "first": today, "last": today, "period": "month"}, headers=headers).status_code == 422
    for first, last in ((today, "2000-01-01"), ("0001-01-01", "9999-12-31")):
        assert client.get("/api/v1/stats/throughput", params={
            "first": first, "last": last}, headers=headers).status_code == 422
    outcomes = client.get("/api/v1/stats/review-outcomes", headers=headers).json()
    assert outcomes["per_annotator"][0]["accept_rate"] == 0.5
    overview = client.get("/api/v1/stats/overview", headers=headers).json()
    assert overview["annotations_saved"] == 3 and overview["tasks_now"]["done"] == 2
    feed = client.get("/api/v1/audit-events/activity", params={"action": "annotation.save",
                                                               "limit": 2}, headers=headers)
    assert feed.status_code == 200, feed.text
    assert feed.json()["total"] == 3 and len(feed.json()["items"]) == 2
    assert feed.json()["items"][0]["sentence"].startswith(f"{ann.display_name} saved the ")
    for path in ("/stats/throughput?first=2030-01-01&last=2030-01-02", "/stats/overview",
                 "/stats/review-outcomes", "/audit-events/activity"):
        assert client.get(f"/api/v1{path}", headers=token_for(ann)).status_code == 403
