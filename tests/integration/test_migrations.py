"""The migration chain builds the schema from empty, and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import labelstack.db.models  # noqa: F401
from labelstack.db.migrate import current_revision, head_revision, upgrade
from labelstack.db.session import make_engine
from labelstack.db.text_search import is_search_object


def test_upgrade_from_empty_reaches_head_and_matches_models(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_object": lambda _obj, name, type_, _reflected, _other:
                    not is_search_object(name, type_)})
            diff = compare_metadata(ctx, SQLModel.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    engine = make_engine(empty_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
