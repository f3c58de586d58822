"""Small query helpers shared by the services."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern: use with `escape="\\\\"`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def driver_rows(session: Session, statement: Select, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a read-only `statement`, straight from the driver's cursor. For the one
    read on the way to every first slice: there SQLAlchemy's execution and result machinery
    cost three times the query (0.24 ms against 0.08 for one row on SQLite). Read in the
    session's transaction once it has begun; before that (nothing of it to see) on a pooled
    connection of its own for this one read, which spares the session its connection
    (0.12 ms). No ORM events fire and nothing is flushed first."""
    engine = session.get_bind()
    if session.in_transaction() or not isinstance(engine, Engine):
        connection = session.connection()
        return _fetch(connection.connection, _compiled(statement, connection.dialect), params)
    raw = engine.raw_connection()
    try:
        return _fetch(raw, _compiled(statement, engine.dialect), params)
    finally:
        raw.close()


def _fetch(connection: Any, compiled: tuple[str, tuple[str, ...] | None],
           params: dict[str, Any]) -> list[tuple[Any, ...]]:
    sql, names = compiled
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params[name] for name in names) if names is not None else params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


@lru_cache(maxsize=32)
def _compiled(statement: Select, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The SQL of `statement` for `dialect`, and the order of its parameters when they are
    positional (None: by name)."""
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup if compiled.positional else None
    return str(compiled), None if order is None else tuple(order)
