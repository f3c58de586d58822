"""Substring search that uses an index instead of reading every row on each keystroke.

PostgreSQL: `ILIKE '%text%'` on columns with a pg_trgm GIN index (migration 0005).
SQLite: the FTS5 tables of migration 0005 (`trigram` tokenizer, external content, kept in
sync by triggers); a text shorter than three characters has no trigram, so it falls back
to LIKE on the table itself. Both match case-insensitively and take `%`, `_` literally.
The search objects exist only in the migrations; `is_search_object` keeps them out of
comparisons with the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from labelstack.db.queries import escape_like

TRIGRAM = 3
TRIGRAM_INDEX_SUFFIX = "_trgm"
FTS_SUFFIX = "_fts"


@dataclass(frozen=True, slots=True)
class Searchable:
    """A table's searchable text columns and the FTS5 table that mirrors them on SQLite."""

    table: str
    columns: tuple[str, ...]

    @property
    def fts(self) -> str:
        return self.table + FTS_SUFFIX

    def trigram_index(self, column: str) -> str:
        return f"ix_{self.table}_{column}{TRIGRAM_INDEX_SUFFIX}"


TASKS = Searchable("tasks", ("name", "description"))
STUDIES = Searchable("studies", ("patient_id", "patient_name", "study_description"))
SERIES = Searchable("series", ("series_description",))
SEARCHABLE = (TASKS, STUDIES, SERIES)


def contains(session: Session, where: Searchable, model: type[Any], columns: Sequence[str],
             text: str) -> sa.ColumnElement[bool]:
    """Rows of `model` (the table of `where`) whose `columns` contain `text`."""
    dialect = session.get_bind().dialect.name
    bound = sa.bindparam(f"{where.table}_search", value(dialect, columns, text), type_=sa.String,
                         unique=True)
    return _matching(dialect, where, model, columns, bound, short=len(text) < TRIGRAM)


Kind = Literal["none", "short", "text"]
"""What a text filter needs: nothing, a match shorter than a trigram, or a full match."""


def kind(text: str) -> Kind:
    return "none" if not text else "short" if len(text) < TRIGRAM else "text"


def condition(dialect: str, where: Searchable, model: type[Any], columns: Sequence[str], *,
              key: str, short: bool) -> sa.ColumnElement[bool]:
    """`contains` with the text left as the parameter `key` (bind `value(...)` to it), so a
    statement can be built once and run for any text; `short`: the text has fewer than
    three characters (on SQLite that is a LIKE, not an FTS5 match)."""
    return _matching(dialect, where, model, columns, sa.bindparam(key, type_=sa.String),
                     short=short)


def _matching(dialect: str, where: Searchable, model: type[Any], columns: Sequence[str],
              text: sa.BindParameter[str], *, short: bool) -> sa.ColumnElement[bool]:
    unknown = set(columns) - set(where.columns)
    if unknown:
        raise ValueError(f"{where.table} has no search on {sorted(unknown)}")
    if dialect == "sqlite" and not short:
        match: sa.Select[Any] = sa.select(sa.column("rowid")).select_from(
            sa.table(where.fts)).where(sa.literal_column(where.fts).op("MATCH")(text))
        return model.id.in_(match)
    return sa.or_(*(getattr(model, c).ilike(text, escape="\\") for c in columns))


def value(dialect: str, columns: Sequence[str], text: str) -> str:
    """What to bind to the parameter of `condition`: an FTS5 phrase on `columns` or a LIKE
    pattern, with the text taken literally."""
    if dialect == "sqlite" and len(text) >= TRIGRAM:
        return "{" + " ".join(columns) + '} : "' + text.replace('"', '""') + '"'
    return f"%{escape_like(text)}%"


def is_search_object(name: str | None, type_: str) -> bool:
    """The FTS5 tables (and their shadow tables) and trigram indexes: not in the models."""
    if not name:
        return False
    if type_ == "table":
        return any(name == s.fts or name.startswith(s.fts + "_") for s in SEARCHABLE)
    return type_ == "index" and name.endswith(TRIGRAM_INDEX_SUFFIX)


def include_object(_obj: object, name: str | None, type_: str, _reflected: bool,
                   _compare_to: object) -> bool:
    """Alembic's `include_object` hook: autogenerate must not propose dropping the search
    objects the models do not declare."""
    return not is_search_object(name, type_)
