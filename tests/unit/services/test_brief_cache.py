"""The brief cache: a value is served again until its time is up or this process writes one of
the tables it was read from, by any kind of ORM write; refusals are never kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from labelstack.services.brief_cache import BriefCache


class Base(DeclarativeBase):
    """Tables of these tests only (not the application's metadata)."""


class Note(Base):
    __tablename__ = "brief_cache_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(default="")


class Other(Base):
    __tablename__ = "brief_cache_others"
    id: Mapped[int] = mapped_column(primary_key=True)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Note(text="first"))
        s.commit()
        yield s
    engine.dispose()


def _reader(session: Session, loads: list[str]) -> tuple[BriefCache[int, str], object]:
    cache: BriefCache[int, str] = BriefCache(Note.__tablename__, ttl=60)

    def read() -> str:
        note = session.get(Note, 1)
        assert note is not None
        loads.append(note.text)
        return note.text

    return cache, read


def test_a_value_is_read_once_while_nothing_changes(session: Session) -> None:
    loads: list[str] = []
    cache, read = _reader(session, loads)
    assert [cache.get(1, read) for _ in range(5)] == ["first"] * 5
    assert loads == ["first"]


@pytest.mark.parametrize("write", ["flush+commit", "bulk update", "delete", "rollback"])
def test_a_write_to_its_table_makes_the_next_get_read_again(session: Session, write: str) -> None:
    loads: list[str] = []
    cache, read = _reader(session, loads)
    cache.get(1, read)
    if write == "flush+commit":
        note = session.get(Note, 1)
        assert note is not None
        note.text = "second"
        session.commit()
    elif write == "bulk update":
        session.execute(update(Note).where(Note.id == 1).values(text="second"))
        session.commit()
    elif write == "delete":
        session.add(Note(id=2, text="spare"))
        session.commit()
        loads.clear()
        cache.get(1, read)
        spare = session.get(Note, 2)
        session.delete(spare)
        session.commit()
    else:
        session.add(Note(id=3, text="undone"))
        session.flush()
        session.rollback()
    loads.clear()
    cache.get(1, read)
    assert len(loads) == 1


def test_a_write_to_another_table_keeps_the_value(session: Session) -> None:
    loads: list[str] = []
    cache, read = _reader(session, loads)
    cache.get(1, read)
    session.add(Other())
    session.commit()
    cache.get(1, read)
    assert loads == ["first"]


def test_an_expired_value_is_read_again(session: Session) -> None:
    loads: list[str] = []
    cache: BriefCache[int, str] = BriefCache(Note.__tablename__, ttl=0)
    for _ in range(3):
        cache.get(1, lambda: loads.append("read") or "value")
    assert loads == ["read"] * 3


def test_a_refusal_is_not_kept() -> None:
    cache: BriefCache[str, str] = BriefCache(Note.__tablename__, ttl=60)
    calls = []

    def refuse() -> str:
        calls.append(1)
        raise PermissionError("no")

    for _ in range(2):
        with pytest.raises(PermissionError):
            cache.get("who", refuse)
    assert len(calls) == 2
    assert cache.get("who", lambda: "yes now") == "yes now"


def test_the_cache_holds_at_most_its_bound() -> None:
    cache: BriefCache[int, int] = BriefCache(Note.__tablename__, ttl=60, max_entries=3)
    loads: list[int] = []
    for key in range(5):
        cache.get(key, lambda key=key: loads.append(key) or key)
    cache.get(0, lambda: loads.append(0) or 0)  # the oldest went
    cache.get(4, lambda: loads.append(4) or 4)  # the newest stayed
    assert loads == [0, 1, 2, 3, 4, 0]


def test_peek_answers_only_what_get_would_serve_and_never_loads(session: Session) -> None:
    loads: list[str] = []
    cache, read = _reader(session, loads)
    assert cache.peek(1) is None and loads == []  # nothing held: no read either
    assert cache.get(1, read) == "first"
    assert cache.peek(1) == "first" and loads == ["first"]
    session.execute(update(Note).values(text="second"))
    assert cache.peek(1) is None  # a write to its table: stale at once
    session.commit()
    assert cache.peek(1) is None and loads == ["first"]
    expired: BriefCache[int, str] = BriefCache(Note.__tablename__, ttl=0)
    expired.get(1, read)
    assert expired.peek(1) is None
