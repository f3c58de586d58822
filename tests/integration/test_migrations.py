"""The migration chain builds the schema from empty, and matches the models exactly."""

from __future__ import annotations

import sqlalchemy as sa
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


def test_the_upgrade_names_each_existing_set_of_instances_and_keeps_it_named(empty_url: str) -> None:
    """Migration 0006: every series indexed before gets a token of its own (two series never
    share one), and from then on the database renews it with each change to its instances,
    including the rows a series' deletion cascades to."""
    upgrade(empty_url, "0005")
    engine = make_engine(empty_url)
    now = {"now": "2026-01-01 00:00:00+00:00", "no": False}
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO studies (id, study_uid, patient_id, patient_name, study_description, "
                "accession_number, created_at) VALUES (1, '1.2', '', '', '', '', :now)"), now)
            for series_id in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO series (id, series_uid, study_id, modality, body_part, "
                    "series_description, number_of_frames, number_of_instances, store, incomplete, "
                    "created_at, updated_at) VALUES (:id, :uid, 1, 'CT', '', '', 1, 1, 'local', "
                    ":no, :now, :now)"), {**now, "id": series_id, "uid": f"1.2.{series_id}"})
                _instance(conn, series_id, series_id)
        upgrade(empty_url)

        def tokens() -> list[str]:
            with engine.connect() as conn:
                return list(conn.execute(sa.text("SELECT instance_set FROM series ORDER BY id")).scalars())

        first = tokens()
        assert len(set(first)) == 2 and all(len(t) == 16 for t in first)
        with engine.begin() as conn:
            _instance(conn, 3, 1)
        added = tokens()
        assert added[0] != first[0] and added[1] == first[1]  # only the series that changed
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM series WHERE id = 2"))  # its instances cascade
        assert tokens() == added[:1]
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE instances SET store_key = 'moved.dcm' WHERE id = 3"))
        (moved,) = tokens()
        assert moved != added[0]
    finally:
        engine.dispose()


def _instance(conn: sa.Connection, instance_id: int, series_id: int) -> None:
    conn.execute(sa.text(
        "INSERT INTO instances (id, sop_instance_uid, series_id, sop_class_uid, transfer_syntax_uid, "
        "instance_number, number_of_frames, store_key, file_size, sha256, created_at) VALUES "
        "(:id, :uid, :series, '', '', 1, 1, :key, 0, '', :now)"),
        {"id": instance_id, "uid": f"1.2.9.{instance_id}", "series": series_id,
         "key": f"1.2/1.2.{series_id}/1.2.9.{instance_id}.dcm", "now": "2026-01-01 00:00:00+00:00"})
