"""Transactions behave alike on both databases: a released savepoint is not a commit."""

from __future__ import annotations

from sqlmodel import Session, select

from labelstack.db import session as db_session
from labelstack.db.models import User


def _user(email: str) -> User:
    return User(email=email, name=email, password_hash="x", roles="annotator")


def test_a_released_savepoint_rolls_back_with_its_transaction(session: Session) -> None:
    with session.begin_nested():
        session.add(_user("kept-only-inside@example.org"))
    session.rollback()
    assert session.exec(select(User)).all() == []


def test_a_rolled_back_savepoint_keeps_the_outer_work(session: Session) -> None:
    session.add(_user("outer@example.org"))
    session.flush()
    nested = session.begin_nested()
    session.add(_user("inner@example.org"))
    session.flush()
    nested.rollback()
    session.commit()
    with db_session.session_scope() as other:
        assert [u.email for u in other.exec(select(User)).all()] == ["outer@example.org"]
