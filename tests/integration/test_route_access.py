"""Every protected route refuses a caller without a valid token (401), and the
admin-only user routes refuse the other roles (403). The sweep reads the routes
from the app itself, so a new router is covered the day it is mounted."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from labelstack import api
from labelstack.db import session as db_session

OPEN_ROUTES = {("GET", "/api/v1/health"), ("POST", "/api/v1/auth/token")}


def _protected_routes() -> list[tuple[str, str]]:
    app = FastAPI()
    api.install(app)
    found = [(method.upper(), path) for path, ops in app.openapi()["paths"].items()
             for method in ops if (method.upper(), path) not in OPEN_ROUTES]
    assert found, "no routes found"
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def sweep_client(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """One SQLite-backed client for the whole sweep: refusing a token is not database-specific."""
    path = tmp_path_factory.mktemp("sweep") / "labelstack.db"
    shutil.copy(sqlite_template, path)
    db_session.configure(f"sqlite:///{path}")
    app = FastAPI()
    api.install(app)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("method,path", _protected_routes())
@pytest.mark.parametrize("auth", [None, "Bearer not-a-real-token", "Basic YWRtaW46YWRtaW4="])
def test_protected_route_needs_a_valid_token(sweep_client: TestClient, method: str, path: str,
                                             auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = sweep_client.request(method, _concrete(path), headers=headers)
    assert r.status_code == 401, f"{method} {path}: {r.status_code} {r.text}"
    assert "detail" in r.json()
    assert r.headers.get("www-authenticate") == "Bearer"


USER_ROUTES = [("GET", "/api/v1/users", None), ("POST", "/api/v1/users",
               {"email": "n@example.org", "password": "long-enough", "roles": ["annotator"]}),
               ("GET", "/api/v1/users/{id}", None), ("PATCH", "/api/v1/users/{id}", {"name": "x"}),
               ("DELETE", "/api/v1/users/{id}", None)]


@pytest.mark.parametrize("method,path,body", USER_ROUTES)
@pytest.mark.parametrize("role,allowed", [("admin", True), ("annotator", False),
                                          ("reviewer", False)])
def test_user_routes_are_for_admins(client: TestClient, make_user, token_for, method: str,
                                    path: str, body: dict | None, role: str,
                                    allowed: bool) -> None:
    make_user("admin")  # keeps one admin besides the caller, so deactivating is allowed
    caller = make_user(role)
    target = make_user("annotator")
    r = client.request(method, path.replace("{id}", str(target.id)), json=body,
                       headers=token_for(caller))
    if allowed:
        assert r.status_code in (200, 201), r.text
    else:
        assert r.status_code == 403
        assert r.json() == {"detail": "this action needs the admin role"}


def test_the_last_admin_cannot_be_demoted(client: TestClient, make_user, token_for) -> None:
    admin = make_user("admin")
    r = client.patch(f"/api/v1/users/{admin.id}", json={"roles": ["annotator"]},
                     headers=token_for(admin))
    assert r.status_code == 409
    assert "last active admin" in r.json()["detail"]


def test_duplicate_email_is_a_conflict(client: TestClient, make_user, token_for) -> None:
    admin = make_user("admin")
    body = {"email": "Same@example.org", "password": "long-enough", "roles": ["reviewer"]}
    assert client.post("/api/v1/users", json=body, headers=token_for(admin)).status_code == 201
    r = client.post("/api/v1/users", json=body, headers=token_for(admin))
    assert r.status_code == 409
    assert r.json()["detail"] == "a user with e-mail same@example.org already exists"


@pytest.mark.parametrize("body,field", [
    ({"email": "not-an-email", "password": "long-enough", "roles": ["admin"]}, "email"),
    ({"email": "a@example.org", "password": "short", "roles": ["admin"]}, "password"),
    ({"email": "a@example.org", "password": "long-enough", "roles": []}, "roles"),
    ({"email": "a@example.org", "password": "long-enough", "roles": ["wizard"]}, "roles"),
])
def test_bad_user_input_is_a_clear_422(client: TestClient, make_user, token_for, body: dict,
                                       field: str) -> None:
    r = client.post("/api/v1/users", json=body, headers=token_for(make_user("admin")))
    assert r.status_code == 422
    assert field in str(r.json()["detail"])
