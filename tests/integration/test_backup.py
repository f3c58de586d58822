"""`labelstack backup` while the instance writes, and `restore` into an empty data dir."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db import session as db_session
from labelstack.db.models import Annotation, AnnotationRevision, Instance, Series, User
from labelstack.imaging.phantom import write_ct_series
from labelstack.services import backup as backups
from labelstack.services.annotations.revisions import save_mask
from labelstack.services.images import importing
from labelstack.services.images.sources import sources_from_paths
from tests.integration.workflow.annotation_helpers import (
    SHAPE,
    annotation_task,
    make_assignment,
)
from tests.services import postgres_database


class Writer(threading.Thread):
    """Saves annotation revisions and imports small CT series in a loop, noting each one only
    once its call (and so its commit) returned."""

    def __init__(self, annotation_id: int, user_id: int, work: Path) -> None:
        super().__init__(daemon=True)
        self.annotation_id, self.user_id, self.work = annotation_id, user_id, work
        self.revisions: list[int] = []
        self.series: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with db_session.session_scope() as session:
                user = session.get(User, self.user_id)
                for i in range(10_000):
                    if self.stop.is_set():
                        return
                    self._step(session, user, i)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            self.error = exc

    def _step(self, session: Session, user: User | None, i: int) -> None:
        assert user is not None
        mask = np.random.default_rng(i).random(SHAPE) > 0.5
        saved = save_mask(session, actor=user, annotation_id=self.annotation_id, mask=mask)
        assert saved.revision is not None and saved.revision.id is not None
        self.revisions.append(saved.revision.id)
        uid = f"1.2.826.0.1.3680043.8.498.77{i:04d}"
        files = write_ct_series(self.work / uid, shape=(2, 16, 16), series_uid=uid, seed=None)
        report = importing.import_dicom(session, actor=None, sources=sources_from_paths(files))
        assert report.summary["stored"] == 2, report.items
        self.series.append(uid)

    def wait_for(self, n: int) -> None:
        while len(self.series) < n and self.is_alive():
            self.stop.wait(0.05)


@contextmanager
def target_database(db_url: str, data_dir: Path) -> Iterator[str | None]:
    """Where a restore goes: the data dir's own SQLite file, or a new empty PostgreSQL."""
    if db_url.startswith("sqlite"):
        yield None
    else:
        with postgres_database() as url:
            yield url


def test_a_backup_during_writes_restores_everything_committed_before_it(
        settings: Settings, session: Session, make_user, tmp_path: Path, db_url: str) -> None:
    admin, annotator = make_user("admin"), make_user("annotator")
    annotation_task(session, admin, annotator, [make_assignment(session)])
    annotation = session.exec(select(Annotation)).one()
    writer = Writer(annotation.id, annotator.id, tmp_path / "incoming")
    writer.start()
    try:
        writer.wait_for(3)
        committed_revisions, committed_series = list(writer.revisions), list(writer.series)
        manifest = backups.backup(settings, tmp_path / "backup")
        writer.wait_for(len(committed_series) + 2)  # and it went on writing
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None, writer.error
    assert manifest.missing_files == []
    assert manifest.counts["annotation_revisions"] >= len(committed_revisions)

    restored_dir = tmp_path / "restored"
    with target_database(db_url, restored_dir) as url:
        target = Settings(data_dir=restored_dir, database_url=url)
        target.prepare_data_dir()
        restored = backups.restore(target, tmp_path / "backup")
        assert restored.integrity == "ok"
        assert restored.missing_files == []
        engine = db_session.make_engine(target.resolved_database_url)
        try:
            with Session(engine) as check:
                revisions = set(check.exec(select(AnnotationRevision.id)).all())
                series = set(check.exec(select(Series.series_uid)).all())
                keys = check.exec(select(Instance.store_key)).all()
        finally:
            engine.dispose()
    assert set(committed_revisions) <= revisions
    assert set(committed_series) <= series
    assert len(revisions) == manifest.counts["annotation_revisions"]
    assert len(keys) == manifest.counts["instances"] == manifest.store_files
    assert all((restored_dir / "dicom" / key).is_file() for key in keys)


def test_restore_refuses_a_data_dir_that_is_not_empty(settings: Settings, make_user,
                                                      tmp_path: Path) -> None:
    make_user("admin")
    backups.backup(settings, tmp_path / "backup")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    target = Settings(data_dir=busy)
    with pytest.raises(backups.BackupError, match="is not empty: give a new or empty directory"):
        backups.restore(target, tmp_path / "backup")
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


def test_backup_refuses_a_destination_that_is_not_empty(settings: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old").write_text("x")
    with pytest.raises(backups.BackupError, match="backup destination .* is not empty"):
        backups.backup(settings, dest)


def test_restore_refuses_what_is_not_a_backup(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    with pytest.raises(backups.BackupError, match="has no manifest.json"):
        backups.restore(Settings(data_dir=tmp_path / "new"), tmp_path / "junk")
