"""The token flow and who may reach which route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelstack.services.accounts import users
from tests.conftest import PASSWORD


def test_token_flow(client: TestClient, make_user) -> None:
    make_user("annotator", email="ann@example.org")
    r = client.post("/api/v1/auth/token", data={"username": "ANN@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "ann@example.org"
    assert me.json()["roles"] == ["annotator"]
    assert "password_hash" not in me.json()


@pytest.mark.parametrize("email,password", [("ann@example.org", "wrong-password"),
                                            ("nobody@example.org", PASSWORD)])
def test_wrong_credentials_get_one_generic_message(client: TestClient, make_user, email: str,
                                                   password: str) -> None:
    make_user("annotator", email="ann@example.org")
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 401
    assert r.json() == {"detail": "wrong e-mail or password"}


def test_logout_revokes_the_token(client: TestClient, make_user, token_for) -> None:
    headers = token_for(make_user("reviewer"))
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_deactivated_user_loses_access(client: TestClient, make_user, token_for) -> None:
    admin = make_user("admin")
    other = make_user("annotator")
    headers = token_for(other)
    r = client.delete(f"/api/v1/users/{other.id}", headers=token_for(admin))
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_browser_sessions_resolve_only_active_users(session: Session, make_user) -> None:
    admin, other = make_user("admin"), make_user("annotator")
    assert users.active_user(session, other.id).email == other.email
    users.deactivate_user(session, actor=admin, user_id=other.id)
    assert users.active_user(session, other.id) is None
    assert users.active_user(session, 10_000) is None


def test_health_reports_schema(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok"
    assert body["schema_revision"] == body["schema_head"]


def test_password_change_revokes_old_tokens(client: TestClient, make_user, token_for) -> None:
    admin = make_user("admin")
    other = make_user("annotator")
    old = token_for(other)
    r = client.patch(f"/api/v1/users/{other.id}", json={"password": "a-brand-new-one"},
                     headers=token_for(admin))
    assert r.status_code == 200
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    fresh = client.post("/api/v1/auth/token", data={"username": other.email,
                                                    "password": "a-brand-new-one"})
    assert fresh.status_code == 200


def test_revocations_are_audited(client: TestClient, make_user, token_for) -> None:
    admin = make_user("admin")
    headers = token_for(make_user("reviewer"))
    client.post("/api/v1/auth/logout", headers=headers)
    events = client.get("/api/v1/audit-events", params={"action": "token.revoke"},
                        headers=token_for(admin)).json()
    assert [e["details"]["reason"] for e in events["items"]] == ["logout"]
