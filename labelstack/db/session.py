"""The engine and sessions. One engine per process, configured once at start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

_engine: Engine | None = None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    """SQLite with foreign keys, WAL, a lock wait, and savepoints inside real transactions.

    pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT issued
    outside one starts a transaction of its own and its RELEASE commits: every imported
    file was an fsync, and rolling back the outer transaction could not undo it.
    SQLAlchemy's documented workaround (driver in autocommit, BEGIN on the engine's
    "begin" event) fixes that but makes every session a deferred transaction from its first
    SELECT; a write after another connection's commit then fails at once with "database is
    locked" (a stale WAL snapshot cannot be upgraded, busy_timeout does not apply), which
    the concurrency tests showed. So reads keep pysqlite's behaviour and only a savepoint,
    which precedes writes, first opens the transaction, as BEGIN IMMEDIATE so it waits for
    the write lock instead of failing.
    """
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "savepoint")
    def _on_savepoint(conn: sa.Connection, _name: str) -> None:
        driver = conn.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")

    return engine


def configure(url: str) -> Engine:
    """Point this process at a database; returns the engine."""
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not configured: call labelstack.db.session.configure() first")
    return _engine


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for one unit of work; services commit explicitly."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


def get_session() -> Iterator[Session]:
    """FastAPI dependency."""
    with session_scope() as session:
        yield session
