"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, an API client, users."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

from labelstack import api
from labelstack.db import session as db_session
from labelstack.db.migrate import upgrade
from labelstack.db.models import User
from labelstack.services import security
from labelstack.services.accounts import auth, users
from labelstack.services.accounts.users import UserCreate
from tests.services import postgres_database

DB_KINDS = ["sqlite", "postgresql"]
pytest_plugins = ["tests.integration.fuzz.report"]  # here, so the xdist controller prints it too
PASSWORD = "correct-horse-42"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> None:
    """Argon2 at minimum cost: tests create many users; the algorithm stays the same."""
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> Iterator[str]:
    with postgres_database() as url:
        upgrade(url)
        yield url


def _truncate_all(url: str) -> None:
    engine = db_session.make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind; the process engine points at it."""
    if request.param == "sqlite":
        path = tmp_path / "labelstack.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        _truncate_all(url)
    db_session.configure(url)
    yield url
    db_session.get_engine().dispose()


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    with db_session.session_scope() as s:
        yield s


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(*roles: str, email: str | None = None, password: str = PASSWORD) -> User:
        email = email or f"{'-'.join(roles) or 'user'}{next(counter)}@example.org"
        return users.create_user(session, actor=None,
                                 data=UserCreate(email=email, password=password, roles=list(roles)))

    return make


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = FastAPI()
    api.install(app)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def token_for(session: Session) -> Callable[[User], dict[str, str]]:
    """Authorization headers for a user."""

    def headers(user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {auth.issue_token(session, user)}"}

    return headers
