"""Labels and label assignments through the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.db.models import AuditEvent, LabelAssignment
from labelstack.services.errors import Forbidden
from labelstack.services.labels import catalog as labels
from tests.integration.workflow import task_helpers as h

API = "/api/v1"


@pytest.fixture
def admin(make_user, token_for) -> dict[str, str]:
    return token_for(make_user("admin"))


def test_label_crud_with_audit(client: TestClient, session: Session, admin) -> None:
    r = client.post(f"{API}/labels", json={"name": " Liver ", "color": "#A0B1C2",
                                           "description": "whole organ"}, headers=admin)
    assert r.status_code == 201, r.text
    label = r.json()
    assert (label["name"], label["color"], label["archived"]) == ("Liver", "#a0b1c2", False)
    r = client.patch(f"{API}/labels/{label['id']}", json={"name": "Liver (whole)",
                                                          "color": "#112233"}, headers=admin)
    assert r.json()["name"] == "Liver (whole)" and r.json()["color"] == "#112233"
    assert [x["name"] for x in client.get(f"{API}/labels", headers=admin).json()] == [
        "Liver (whole)"]
    assert client.delete(f"{API}/labels/{label['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/labels/{label['id']}", headers=admin).status_code == 404
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "label")
                           .order_by(AuditEvent.id)).all()
    assert actions == ["label.create", "label.update", "label.delete"]


@pytest.mark.parametrize("body", [
    pytest.param({"name": "x", "color": "red"}, id="named-colour"),
    pytest.param({"name": "x", "color": "#12345"}, id="short"),
    pytest.param({"name": "x", "color": "#1234567"}, id="long"),
    pytest.param({"name": "x", "color": "#12345g"}, id="not-hex"),
    pytest.param({"name": "", "color": "#123456"}, id="empty-name"),
])
def test_invalid_label_input_is_422(client: TestClient, admin, body: dict) -> None:
    assert client.post(f"{API}/labels", json=body, headers=admin).status_code == 422


def test_label_names_are_unique_ignoring_case(client: TestClient, admin) -> None:
    assert client.post(f"{API}/labels", json={"name": "Lung"}, headers=admin).status_code == 201
    r = client.post(f"{API}/labels", json={"name": "lung"}, headers=admin)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    other = client.post(f"{API}/labels", json={"name": "Heart"}, headers=admin).json()
    assert client.patch(f"{API}/labels/{other['id']}", json={"name": "LUNG"},
                        headers=admin).status_code == 409


def test_bulk_assign_reports_created_and_existing(client: TestClient, session: Session,
                                                  admin) -> None:
    s1, s2, s3 = h.images(session, 3)
    label = h.label(session)
    r = client.post(f"{API}/label-assignments", json={"label_id": label.id,
                                                      "series_ids": [s1, s2]}, headers=admin)
    assert r.status_code == 200, r.text
    assert [a["series_id"] for a in r.json()["created"]] == [s1, s2]
    r = client.post(f"{API}/label-assignments", json={"label_id": label.id,
                                                      "series_ids": [s2, s3, s3]}, headers=admin)
    assert [a["series_id"] for a in r.json()["created"]] == [s3]
    assert [a["series_id"] for a in r.json()["existing"]] == [s2]
    rows = session.exec(select(LabelAssignment).where(LabelAssignment.label_id == label.id)).all()
    assert sorted(a.series_id for a in rows) == [s1, s2, s3]
    by_series = client.get(f"{API}/label-assignments", params={"series_id": s2}, headers=admin)
    assert [a["label_id"] for a in by_series.json()] == [label.id]
    by_label = client.get(f"{API}/label-assignments", params={"label_id": label.id},
                          headers=admin)
    assert len(by_label.json()) == 3


def test_bulk_assign_is_all_or_nothing(client: TestClient, session: Session, admin) -> None:
    (s1,) = h.images(session)
    label = h.label(session)
    r = client.post(f"{API}/label-assignments", json={"label_id": label.id,
                                                      "series_ids": [s1, 999_999]}, headers=admin)
    assert r.status_code == 404 and r.json()["missing"] == [999_999]
    assert session.exec(select(LabelAssignment)).all() == []
    r = client.post(f"{API}/label-assignments", json={"label_id": 999_999, "series_ids": [s1]},
                    headers=admin)
    assert r.status_code == 404


def test_archived_label_is_hidden_and_not_assignable(client: TestClient, session: Session,
                                                     admin) -> None:
    (s1,) = h.images(session)
    label = h.label(session, "Old")
    client.patch(f"{API}/labels/{label.id}", json={"archived": True}, headers=admin)
    assert client.get(f"{API}/labels", headers=admin).json() == []
    assert len(client.get(f"{API}/labels", params={"include_archived": True},
                          headers=admin).json()) == 1
    r = client.post(f"{API}/label-assignments", json={"label_id": label.id, "series_ids": [s1]},
                    headers=admin)
    assert r.status_code == 409 and "archived" in r.json()["detail"]


def test_label_with_annotations_cannot_be_deleted(client: TestClient, session: Session,
                                                  make_user, admin) -> None:
    author = make_user("annotator")
    (s1,) = h.images(session)
    label = h.label(session)
    pair = h.assignment(session, label.id, s1)
    work = h.annotation(session, pair.id, author.id)
    r = client.delete(f"{API}/labels/{label.id}", headers=admin)
    assert r.status_code == 409 and r.json()["annotation_ids"] == [work.id]
    r = client.delete(f"{API}/label-assignments/{pair.id}", headers=admin)
    assert r.status_code == 409 and "annotations" in r.json()["detail"]
    assert client.patch(f"{API}/labels/{label.id}", json={"archived": True},
                        headers=admin).status_code == 200


def test_label_without_annotations_is_deleted_with_its_assignments(
        client: TestClient, session: Session, admin) -> None:
    s1, s2 = h.images(session, 2)
    label = h.label(session)
    client.post(f"{API}/label-assignments", json={"label_id": label.id, "series_ids": [s1, s2]},
                headers=admin)
    assert client.delete(f"{API}/labels/{label.id}", headers=admin).status_code == 204
    session.expire_all()
    assert session.exec(select(LabelAssignment)).all() == []


def test_assignment_in_a_task_is_not_removed(client: TestClient, session: Session,
                                             admin) -> None:
    (s1,) = h.images(session)
    label = h.label(session)
    pair = h.assignment(session, label.id, s1)
    task = client.post(f"{API}/tasks", json={"type": "annotation", "name": "draw",
                                             "label_assignment_ids": [pair.id]}, headers=admin)
    assert task.status_code == 201, task.text
    r = client.delete(f"{API}/label-assignments/{pair.id}", headers=admin)
    assert r.status_code == 409 and r.json()["task_ids"] == [task.json()["id"]]
    assert client.delete(f"{API}/labels/{label.id}", headers=admin).status_code == 409


def test_delete_free_assignment(client: TestClient, session: Session, admin) -> None:
    (s1,) = h.images(session)
    pair = h.assignment(session, h.label(session).id, s1)
    assert client.delete(f"{API}/label-assignments/{pair.id}", headers=admin).status_code == 204
    assert client.delete(f"{API}/label-assignments/{pair.id}", headers=admin).status_code == 404
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "label.unassign")).one()
    assert event.entity_id == pair.id and event.details["series_id"] == s1


def test_usage_counts_images_and_annotations_per_label(session: Session, make_user) -> None:
    admin, author = make_user("admin"), make_user("annotator")
    s1, s2 = h.images(session, 2)
    lung, heart, unused = h.label(session), h.label(session), h.label(session)
    lung_1, lung_2 = h.assignment(session, lung.id, s1), h.assignment(session, lung.id, s2)
    heart_1 = h.assignment(session, heart.id, s1)
    for pair in (lung_1, lung_1, lung_2):
        h.annotation(session, pair.id, author.id)
    h.annotation(session, heart_1.id, author.id, saved=False)
    counts = labels.usage_counts(session, actor=admin)
    assert counts == {lung.id: (2, 3), heart.id: (1, 1), unused.id: (0, 0)}
    with pytest.raises(Forbidden):
        labels.usage_counts(session, actor=author)
