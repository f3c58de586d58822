"""The token flow and who may reach which route."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelstack import api
from labelstack.config import Settings
from labelstack.services.accounts import auth, users
from labelstack.services.accounts.auth import LoginThrottle
from tests.conftest import PASSWORD
from tests.own_loop import in_own_loop


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


class Paced:
    """The login throttle on a frozen clock, recording the waits it asks for instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.throttle = LoginThrottle(base_delay=0.25, max_delay=8.0, clock=lambda: 1000.0,
                                      sleep=self.sleep)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> Paced:
    value = Paced()
    monkeypatch.setattr(auth, "throttle", value.throttle)
    return value


@pytest.fixture
def peer(db_url: str) -> Iterator:
    """A client for the API as seen from a given peer address."""
    app = FastAPI()
    api.install(app)
    opened: list[TestClient] = []

    def at(address: str) -> TestClient:
        opened.append(TestClient(app, client=(address, 50000)).__enter__())
        return opened[-1]

    yield at
    for c in opened:
        c.__exit__(None, None, None)


def _guess(c: TestClient, email: str, password: str = "wrong-password",
           forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return c.post("/api/v1/auth/token", data={"username": email, "password": password},
                  headers=headers).status_code


def test_a_rotating_forwarded_header_from_an_untrusted_peer_is_throttled(
        peer, paced: Paced, settings: Settings) -> None:
    c = peer("127.0.0.1")  # loopback is no proxy unless configured
    statuses = [_guess(c, f"user{i}@example.org", forwarded=f"203.0.113.{i}") for i in range(5)]
    assert statuses == [401] * 5
    assert paced.waits == [0.25, 0.75, 1.75, 3.75]  # one caller: 127.0.0.1
    assert paced.throttle.failures("from:127.0.0.1") == 5
    assert paced.throttle.failures("from:203.0.113.1") == 0


def test_behind_a_trusted_proxy_the_forwarded_client_is_throttled(peer, paced: Paced,
                                                                  settings: Settings) -> None:
    settings.trusted_proxies = "10.0.0.0/8"
    proxy = peer("10.0.0.2")
    for _ in range(3):  # the proxy's right-most entry is the client; the rest is its own claim
        assert _guess(proxy, "user@example.org", forwarded="1.2.3.4, 198.51.100.7") == 401
    assert paced.throttle.failures("from:198.51.100.7") == 3
    assert paced.throttle.failures("from:10.0.0.2") == 0
    assert paced.throttle.failures("from:1.2.3.4") == 0
    paced.waits.clear()
    assert _guess(proxy, "other@example.org", forwarded="203.0.113.9") == 401
    assert paced.waits == []  # another client behind the same proxy has its own count


@in_own_loop
async def test_parallel_wrong_guesses_are_throttled_against_each_other(
        db_url: str, make_user, paced: Paced) -> None:
    make_user("annotator", email="ann@example.org")
    app = FastAPI()
    api.install(app)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        replies = await asyncio.gather(*[
            c.post("/api/v1/auth/token", data={"username": "ann@example.org",
                                               "password": f"guess-{i}"}) for i in range(10)])
    assert [r.status_code for r in replies] == [401] * 10
    assert sorted(paced.waits) == [0.25, 0.75, 1.75, 3.75, 7.75, 15.75, 23.75, 31.75, 39.75]
    assert paced.throttle.failures("ann@example.org") == 10


def test_a_correct_login_from_a_clean_address_is_not_delayed(peer, make_user,
                                                             paced: Paced) -> None:
    make_user("annotator", email="ann@example.org")
    attacker, owner = peer("198.51.100.7"), peer("203.0.113.5")
    assert [_guess(attacker, "ann@example.org") for _ in range(6)] == [401] * 6
    assert paced.waits  # the attacker is slowed
    paced.waits.clear()
    assert _guess(owner, "ann@example.org", PASSWORD) == 200
    assert paced.waits == []
    assert paced.throttle.failures("ann@example.org") == 0


def test_a_wrong_password_from_a_clean_address_still_waits_for_the_account(
        peer, make_user, paced: Paced) -> None:
    make_user("annotator", email="ann@example.org")
    attacker, other = peer("198.51.100.7"), peer("203.0.113.5")
    for _ in range(6):
        _guess(attacker, "ann@example.org")
    paced.waits.clear()
    assert _guess(other, "ann@example.org") == 401
    assert paced.waits == [8.0]
