"""Values the database cannot hold are refused as invalid input (422, with the reason), on
SQLite and PostgreSQL alike, and nothing of the request is written (found by the API fuzzer:
each was a 500)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from labelstack.db.models import Label, LabelAssignment

HUGE = 2**64  # past SQLite's 64-bit integers and PostgreSQL's integer columns


@pytest.fixture
def admin(make_user, token_for) -> dict[str, str]:  # noqa: ANN001
    return token_for(make_user("admin"))


@pytest.mark.parametrize("path", [
    f"/api/v1/annotations?task_id={HUGE}",
    f"/api/v1/labels/{HUGE}",
    f"/api/v1/tasks/{HUGE}",
    f"/api/v1/agreement?a={HUGE}&b=1",
    f"/api/v1/label-assignments?series_id={HUGE}",
])
def test_an_id_too_large_for_the_database_is_invalid_input(client: TestClient, admin: dict,
                                                           path: str) -> None:
    r = client.get(path, headers=admin)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "out of range" in detail, detail


def test_a_write_naming_such_an_id_writes_nothing(client: TestClient, admin: dict,
                                                  session: Session) -> None:
    label = client.post("/api/v1/labels", headers=admin, json={"name": "Lung", "color": "#00ff00"})
    assert label.status_code == 201, label.text
    r = client.post("/api/v1/label-assignments", headers=admin,
                    json={"label_id": label.json()["id"], "series_ids": [HUGE]})
    assert r.status_code == 422, r.text
    assert "out of range" in r.json()["detail"]
    assert session.exec(select(func.count()).select_from(LabelAssignment)).one() == 0
    assert session.exec(select(func.count()).select_from(Label)).one() == 1


def test_a_nul_character_is_refused_where_the_database_cannot_store_it(
        client: TestClient, admin: dict, session: Session, db_url: str) -> None:
    """PostgreSQL text cannot hold NUL: a 422 saying so, nothing written; SQLite stores it."""
    r = client.post("/api/v1/labels", headers=admin, json={"name": "a\x00b", "color": "#00ff00"})
    if db_url.startswith("postgresql"):
        assert r.status_code == 422, r.text
        assert "NUL" in r.json()["detail"]
        assert session.exec(select(func.count()).select_from(Label)).one() == 0
    else:
        assert r.status_code == 201, r.text
