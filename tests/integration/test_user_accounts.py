"""Accounts under pressure: the last admin survives two admins demoting each other at once,
a password change or deactivation ends browser sessions (their generation), and intranet
e-mail domains are accepted while malformed addresses are still refused."""

from __future__ import annotations

import contextlib
import threading

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from labelstack.db.models import AuditEvent, User
from labelstack.services import audit
from labelstack.services.accounts import users
from labelstack.services.accounts.users import UserUpdate
from labelstack.services.errors import Conflict
from tests.integration.threads import in_threads

LAST_ADMIN = "this is the last active admin; make another admin first"


@pytest.mark.parametrize("change", [{"roles": ["annotator"]}, {"is_active": False}],
                         ids=["demote", "deactivate"])
def test_two_admins_removing_each_other_at_once_leave_one(
        session: Session, make_user, monkeypatch: pytest.MonkeyPatch, change: dict) -> None:
    first, second = make_user("admin"), make_user("admin")
    # Hold each change just before its commit until the other has got as far (or is
    # waiting on a lock): without a lock both pass their check and no admin is left.
    both_checked = threading.Barrier(2, timeout=3)
    record = audit.record

    def record_then_wait(*args, **kwargs) -> None:
        record(*args, **kwargs)
        if kwargs.get("entity_type") == "user":
            # broken: the other is held by the lock until this commit, as it should be
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checked.wait()

    monkeypatch.setattr(audit, "record", record_then_wait)
    pairs = [(first.id, second.id), (second.id, first.id)]  # each removes the other
    outcomes = in_threads(lambda s, i: users.update_user(
        s, actor=s.get(User, pairs[i][0]), user_id=pairs[i][1], data=UserUpdate(**change)).id, 2)

    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1 and str(refused[0]) == LAST_ADMIN, outcomes
    session.expire_all()
    admins = [u for u in session.exec(select(User).where(col(User.is_active))).all()
              if "admin" in u.role_set]
    assert len(admins) == 1
    updates = session.exec(select(AuditEvent).where(AuditEvent.action == "user.update")).all()
    assert len(updates) == 1  # the refused change left nothing behind


def test_the_last_admin_still_cannot_leave(session: Session, make_user) -> None:
    admin = make_user("admin")
    for change in ({"roles": ["reviewer"]}, {"is_active": False}):
        with pytest.raises(Conflict, match="last active admin"):
            users.update_user(session, actor=admin, user_id=admin.id, data=UserUpdate(**change))
        session.expire_all()
        assert session.get(User, admin.id).role_set == {"admin"}
        assert session.get(User, admin.id).is_active


def test_password_change_and_deactivation_end_browser_sessions(session: Session,
                                                               make_user) -> None:
    admin, user = make_user("admin"), make_user("annotator")

    def generation() -> int:
        session.expire_all()
        return session.get(User, user.id).session_generation

    start = generation()
    users.update_user(session, actor=admin, user_id=user.id, data=UserUpdate(name="Renamed"))
    users.update_user(session, actor=admin, user_id=user.id, data=UserUpdate(roles=["reviewer"]))
    assert generation() == start  # other changes keep the sessions
    users.update_user(session, actor=admin, user_id=user.id,
                      data=UserUpdate(password="another-password"))
    assert generation() == start + 1
    users.deactivate_user(session, actor=admin, user_id=user.id)
    assert generation() == start + 2
    users.update_user(session, actor=admin, user_id=user.id, data=UserUpdate(is_active=True))
    assert generation() == start + 2  # reactivating does not bring old sessions back


@pytest.mark.parametrize("email", ["dr.x@radiology.local", "pacs.admin@ct.radiology.local",
                                   "someone@example.org"])
def test_intranet_e_mails_are_accepted(client: TestClient, make_user, token_for,
                                       email: str) -> None:
    admin = make_user("admin")
    r = client.post("/api/v1/users", json={"email": email, "password": "long-enough",
                                           "roles": ["annotator"]}, headers=token_for(admin))
    assert r.status_code == 201, r.text
    assert r.json()["email"] == email.lower()


@pytest.mark.parametrize("email,reason", [
    ("radiology.local", "must have an @-sign"),
    ("dr@@radiology.local", "invalid characters"),
    ("dr@.local", "period immediately after the @-sign"),
    ("dr@local", "should have a period"),
    ("dr@radiology", "should have a period"),
    ("dr@host.invalid", "special-use or reserved name"),
    ("dr x@radiology.local", "invalid character"),
])
def test_malformed_e_mails_are_refused_with_the_reason(client: TestClient, make_user, token_for,
                                                       email: str, reason: str) -> None:
    admin = make_user("admin")
    r = client.post("/api/v1/users", json={"email": email, "password": "long-enough",
                                           "roles": ["annotator"]}, headers=token_for(admin))
    assert r.status_code == 422
    assert reason in str(r.json()["detail"])
    listed = client.get("/api/v1/users", headers=token_for(admin)).json()
    assert [u["email"] for u in listed] == [admin.email]
