"""Autogenerate through the shipped env.py sees nothing to do on a migrated database: the
search objects of migration 0005 (FTS5 tables, trigram indexes) are not offered as drops."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import labelstack.db.models  # noqa: F401
from labelstack.db.migrate import alembic_config, upgrade
from labelstack.db.session import make_engine


@pytest.fixture
def migrated_url(empty_url: str) -> str:
    upgrade(empty_url)
    return empty_url


def test_autogenerate_proposes_nothing_on_a_migrated_database(migrated_url: str) -> None:
    command.check(alembic_config(migrated_url))  # raises when it would generate operations


def test_without_the_hook_the_search_objects_would_be_dropped(migrated_url: str) -> None:
    """What the hook guards against: compared bare, the search objects look like strays."""
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        engine.dispose()
    dropped = {op[1].name for op in diff if op[0] in ("remove_table", "remove_index")}
    assert dropped & {"tasks_fts", "ix_tasks_name_trgm"}, diff
