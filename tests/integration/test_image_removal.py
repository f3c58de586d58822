"""Deleting an image nobody worked on: index rows and store files go, with an audit event; an
image with annotations or in a task is refused with the reason and loses nothing. On SQLite and
PostgreSQL, with the local store."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from sqlmodel import Session, func, select

from labelstack.config import Settings
from labelstack.db.enums import AuditAction, TaskType
from labelstack.db.models import Annotation, AuditEvent, Instance, LabelAssignment, Series, Study
from labelstack.imaging.phantom import write_ct_series
from labelstack.services import activity
from labelstack.services.errors import Conflict, Forbidden, NotFound
from labelstack.services.images import importing as image_import
from labelstack.services.images import removal
from labelstack.services.images import view as image_view
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate
from tests.integration.workflow import task_helpers as h

FIRST, SECOND = "1.2.826.0.1.3680043.8.498.7101", "1.2.826.0.1.3680043.8.498.7102"


@pytest.fixture
def two_series(session: Session, settings: Settings, tmp_path: Path) -> list[Series]:
    """Two small CT series of one study, imported into the local store."""
    paths = [*write_ct_series(tmp_path / "a", shape=(3, 8, 8), series_uid=FIRST, seed=1),
             *write_ct_series(tmp_path / "b", shape=(2, 8, 8), series_uid=SECOND, seed=2)]
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    return list(session.exec(select(Series).order_by(Series.series_uid)).all())


def _files(settings: Settings) -> int:
    return sum(1 for p in (settings.data_dir / "dicom").rglob("*") if p.is_file())


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_an_unused_image_leaves_index_and_store_with_an_audit_event(
        session, settings, two_series, make_user) -> None:
    admin = make_user("admin")
    first = two_series[0]
    label = h.label(session)
    h.assignment(session, label.id, first.id)  # assigned, but nobody drew it: goes with it
    assert removal.removal_blocker(session, series_id=first.id) is None
    before = _files(settings)
    done = removal.delete_series(session, actor=admin, series_uid=first.series_uid)
    assert (done.instances, done.files_left) == (first.number_of_instances, 0)
    assert _files(settings) == before - done.instances
    assert [s.series_uid for s in session.exec(select(Series)).all()] == [two_series[1].series_uid]
    assert _count(session, LabelAssignment) == 0
    assert _count(session, Study) == 1  # the study keeps its other series
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.images_delete)).one()
    assert (event.actor_id, event.details["series_uid"]) == (admin.id, first.series_uid)
    assert activity.describe(session, [event])[0].sentence.endswith(
        f"deleted the image {first.series_uid} (3 files)")

    removal.delete_series(session, actor=admin, series_uid=two_series[1].series_uid)
    assert (_count(session, Study), _count(session, Instance), _files(settings)) == (0, 0, 0)


def test_an_image_with_annotations_or_in_a_task_is_refused_and_kept(
        session, settings, two_series, make_user) -> None:
    admin = make_user("admin")
    first, second = two_series
    assignment = h.assignment(session, h.label(session).id, first.id)
    h.annotation(session, assignment.id, admin.id)
    transitions.create_task(session, actor=admin, data=TaskCreate(
        type=TaskType.label, name="look", series_ids=[second.id]))
    files = _files(settings)
    assert removal.removal_blocker(session, series_id=first.id) == \
        "It has 1 annotation: the work on it would lose its image."
    assert removal.removal_blocker(session, series_id=second.id) == \
        "It is in 1 task: remove it from it first."
    for series in two_series:
        with pytest.raises(Conflict, match="This image cannot be deleted"):
            removal.delete_series(session, actor=admin, series_uid=series.series_uid)
    session.rollback()
    assert (_count(session, Series), _count(session, Annotation), _files(settings)) == (2, 1, files)
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.images_delete)).first() is None


def test_only_admins_delete_and_an_unknown_image_is_not_found(session, two_series,
                                                              make_user) -> None:
    with pytest.raises(Forbidden):
        removal.delete_series(session, actor=make_user("annotator"),
                              series_uid=two_series[0].series_uid)
    with pytest.raises(NotFound):
        removal.delete_series(session, actor=make_user("admin"), series_uid="1.2.3.4")
    assert _count(session, Series) == 2


def test_an_image_sent_again_after_deletion_shows_its_new_pixels(
        session, settings, tmp_path: Path, make_user) -> None:
    """Same UIDs, so the same content key: the frames kept of the deleted image must go."""
    admin = make_user("admin")
    paths = write_ct_series(tmp_path / "ct", shape=(3, 8, 8), series_uid=FIRST, seed=1)
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    before = image_view.render(session, actor=admin, series_uid=FIRST, index=1, fmt="png")
    image_view.load_volume(session, FIRST)  # the whole volume: its frames are kept from now on
    assert image_view.render(session, actor=admin, series_uid=FIRST, index=1, fmt="png") == before
    removal.delete_series(session, actor=admin, series_uid=FIRST)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.PixelData = (ds.pixel_array // 2).astype(ds.pixel_array.dtype).tobytes()
        ds.save_as(path)
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    image_view.load_volume(session, FIRST)
    after = image_view.render(session, actor=admin, series_uid=FIRST, index=1, fmt="png")
    assert after != before
