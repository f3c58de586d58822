"""Brief caches for what every frame request would otherwise read again: the token's user,
the view rule's answer, a series' instances.

A slice request costs well under a millisecond once its volume is in memory, so three
database round trips per frame dominated it. An entry lives `TTL_SECONDS` at most, and dies
at once when this process writes any table it was read from: every ORM flush, bulk
UPDATE/DELETE, commit and rollback bumps a generation per table (SQLAlchemy session events,
so no service has to remember a hook), and an entry is only served while the generations it
was read under are unchanged. Generations are taken *before* the read, so a read that raced
a commit is never served after it. Changes made by another process (the CLI, a second
server) are seen within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

TTL_SECONDS = 2.0
MAX_ENTRIES = 4096
_PENDING = "brief_cache_tables"  # session.info: tables written in the open transaction
_ANY = ""  # bumped when a new engine first connects: another database, nothing holds

_generations: dict[str, int] = {}
_lock = threading.Lock()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def bump(tables: set[str]) -> None:
    """Make every entry read from any of `tables` stale."""
    with _lock:
        for table in tables:
            _generations[table] = _generations.get(table, 0) + 1


def _stamp(tables: tuple[str, ...]) -> tuple[int, ...]:
    with _lock:
        return (_generations.get(_ANY, 0), *(_generations.get(t, 0) for t in tables))


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    stamp: tuple[int, ...]
    expires: float


class BriefCache(Generic[K, V]):
    """Thread-safe; a failed load (an exception) is not cached, so refusals are always fresh."""

    def __init__(self, *tables: str, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.tables, self.ttl, self.max_entries = tables, ttl, max_entries
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V]) -> V:
        stamp = _stamp(self.tables)
        now = time.monotonic()
        found = self._fresh(key, stamp, now)
        if found is not None:
            return found.value
        value = load()
        with self._lock:
            self._entries[key] = _Entry(value, stamp, now + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def peek(self, key: K) -> V | None:
        """The fresh value held for `key`, or None: never loads, so never does I/O (for a
        caller that must not block, and falls back to `get` elsewhere)."""
        found = self._fresh(key, _stamp(self.tables), time.monotonic())
        return None if found is None else found.value

    def _fresh(self, key: K, stamp: tuple[int, ...], now: float) -> _Entry[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.stamp == stamp and entry.expires > now:
                return entry
            return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def written(session: Session) -> set[str]:
    """The tables `session` has written in its open transaction (flushed, not yet committed)."""
    return set(session.info.get(_PENDING, ()))


def _note(session: Session, tables: set[str]) -> None:
    if tables:
        session.info.setdefault(_PENDING, set()).update(tables)
        bump(tables)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    _note(session, {_table_of(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
          - {""})


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        _note(state.session, {str(getattr(table, "name", ""))} - {""})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _after_end(session: Session) -> None:
    """Again once the change is visible (or undone): a read between flush and commit saw
    the old rows under the new generation."""
    bump(session.info.pop(_PENDING, set()))


@event.listens_for(Engine, "first_connect")
def _new_database(_connection: Any, _record: Any) -> None:
    bump({_ANY})


def _table_of(obj: Any) -> str:
    return str(getattr(obj, "__tablename__", ""))
