"""The first slice of a series no cache holds: read as its own stored bytes (a file read, or
one WADO-RS frame from a real Orthanc) and shown exactly as the whole volume shows it later;
what cannot be read so (compressed, a frame the server will not send as stored) is decoded
from its instance as before. And the name the caches give a set of instances, which the
database renews with every change to it, whoever makes the change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from pydicom import dcmread
from pydicom.data import get_testdata_file
from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db.models import Series, User
from labelstack.services import brief_cache
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime, series_load
from labelstack.services.images import view as image_view
from labelstack.services.images.shape import current_instances, opening_of
from labelstack.services.images.sources import sources_from_paths
from tests.integration.stores.conftest import CT_SHAPE
from tests.orthanc import Orthanc

CT_UID = "1.2.826.0.1.3680043.8.498.1001"


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def _instance_reads(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> list[int]:
    """How many instances each `read` of the configured store asked for."""
    asked: list[int] = []
    store = runtime.store("local" if settings.dicomweb_url is None else "dicomweb")
    real = store.read
    monkeypatch.setattr(store, "read", lambda keys, progress=None: asked.append(len(keys)) or
                        real(keys, progress))
    return asked


def _cold_then_whole(session: Session, admin: User, uid: str, **asked: object) -> tuple[bytes, bytes]:
    """The slice asked for with nothing cached (the load paused meanwhile), then the same
    slice of the whole volume."""
    brief_cache.bump({Series.__tablename__})
    first = image_view.render(session, actor=admin, series_uid=uid, fmt="png", **asked)
    image_view.load_volume(session, uid)
    return first, image_view.render(session, actor=admin, series_uid=uid, fmt="png", **asked)


@pytest.fixture(params=["local", "dicomweb"])
def any_store(request: pytest.FixtureRequest) -> Settings:
    return request.getfixturevalue("settings" if request.param == "local" else "dicomweb_settings")


@pytest.mark.orthanc
@pytest.mark.parametrize("asked", [{}, {"index": 1, "center": 40.0, "width": 400.0}, {"invert": True}])
def test_a_first_slice_is_read_as_its_own_bytes_and_shown_as_the_volume_shows_it(
        any_store: Settings, session: Session, admin: User, ct_files: list[Path],
        monkeypatch: pytest.MonkeyPatch, asked: dict) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    reads = _instance_reads(monkeypatch, any_store)
    first, whole = _cold_then_whole(session, admin, CT_UID, **asked)
    assert reads == [CT_SHAPE[0]], "only the series read of the load: no instance read for the slice"
    assert np.array_equal(_pixels(first), _pixels(whole))


@pytest.mark.orthanc
@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "JPEG2000.dcm", "MR_small_bigendian.dcm"])
def test_what_cannot_be_read_as_its_bytes_is_decoded_from_its_instance(
        any_store: Settings, session: Session, admin: User, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    """Compressed frames; and a big-endian file, which Orthanc 1.10 will not send as stored
    (HTTP 500), while the local store reads its bytes."""
    path = Path(get_testdata_file(name))
    report = image_import.import_dicom(session, actor=None, sources=sources_from_paths([path]))
    uid = report.items[0].series_uid
    reads = _instance_reads(monkeypatch, any_store)
    first, whole = _cold_then_whole(session, admin, uid, center=600.0, width=1200.0)
    assert np.array_equal(_pixels(first), _pixels(whole))
    from_bytes = name == "MR_small_bigendian.dcm" and any_store.dicomweb_url is None
    assert reads == ([1] if from_bytes else [1, 1])  # the load's read; before it the slice's


def test_the_opening_slice_needs_no_kept_stack(settings: Settings, session: Session, admin: User,
                                                ct_files: list[Path]) -> None:
    """The index row names the middle slice's instance and head: with the kept stack gone, the
    default slice is still shown from its bytes, and no header is read for it."""
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    series = session.exec(select(Series)).one()
    key = current_instances(session, series.id).key
    opening = opening_of(series.opening, key)
    assert opening is not None and (opening.slices, opening.index) == (CT_SHAPE[0], CT_SHAPE[0] // 2)
    runtime.stack_order_path(key).unlink()
    store = runtime.store("local")
    headers: list[int] = []
    real = store.read_headers
    store.read_headers = lambda keys: headers.append(len(keys)) or real(keys)  # type: ignore[method-assign]
    try:
        first, whole = _cold_then_whole(session, admin, CT_UID, center=40.0, width=400.0)
    finally:
        del store.read_headers
    assert headers == [] and np.array_equal(_pixels(first), _pixels(whole))


def _delete_one(session: Session, series_id: int) -> None:
    session.execute(sa.text("DELETE FROM instances WHERE id = "
                            "(SELECT max(id) FROM instances WHERE series_id = :s)"), {"s": series_id})


def _repoint_one(session: Session, series_id: int) -> None:
    session.execute(sa.text("UPDATE instances SET store_key = store_key || '.moved' WHERE id = "
                            "(SELECT min(id) FROM instances WHERE series_id = :s)"), {"s": series_id})


# the change, the instances left, whether the store still reads every one
CHANGES: dict[str, tuple[Callable[[Session, int], None], int, bool]] = {
    "an instance deleted by hand": (_delete_one, CT_SHAPE[0] - 2, True),
    "an instance re-pointed by hand": (_repoint_one, CT_SHAPE[0] - 1, False),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_set_of_instances_changed_behind_the_services_back_gets_a_new_name(
        settings: Settings, session: Session, ct_files: list[Path], change: str) -> None:
    """The database's triggers renew the name: no cache can take the changed set for the old
    one, and the opening slice kept for the old set is not used for the new."""
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files[:-1]))
    series = session.exec(select(Series)).one()
    before = current_instances(session, series.id).key
    by_hand, left, readable = CHANGES[change]
    by_hand(session, series.id)
    session.commit()
    after, keys, _ = current_instances(session, series.id)
    assert after != before and len(keys) == left
    session.refresh(series)
    assert opening_of(series.opening, before) is not None and opening_of(series.opening, after) is None
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files[-1:]))
    grown, keys, _ = current_instances(session, series.id)
    assert grown not in (before, after) and len(keys) == left + 1
    session.refresh(series)  # the next import works out the opening slice again, if it can
    assert (opening_of(series.opening, grown) is not None) == readable


def test_a_series_that_changed_while_it_was_being_opened_is_a_conflict(
        settings: Settings, session: Session, ct_files: list[Path]) -> None:
    """The name was read, then the set changed before its keys were: 409, not the new keys
    under the old name."""
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    item = series_load.indexed(session, CT_UID)
    runtime.stack_order_path(item.key).unlink()  # so the keys come from the index
    session.execute(sa.text("DELETE FROM instances WHERE id = (SELECT max(id) FROM instances)"))
    session.commit()
    with pytest.raises(Exception, match="changed while it was being opened: open it again"):
        _ = item.keys


@pytest.mark.orthanc
def test_a_series_synced_from_the_pacs_opens_from_its_instance(
        dicomweb_settings: Settings, session: Session, admin: User, orthanc: Orthanc,
        ct_files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Put into Orthanc by another modality: neither its metadata nor the index says the
    stored syntax, and a frame in an unknown syntax could be the server's own decoding of a
    compressed one, so the slice is decoded from its instance."""
    for path in ct_files:
        httpx.post(f"{orthanc.url}/instances", content=path.read_bytes()).raise_for_status()
    image_catalog.sync_from_dicomweb(session, actor=None)
    reads = _instance_reads(monkeypatch, dicomweb_settings)
    first, whole = _cold_then_whole(session, admin, CT_UID, center=40.0, width=400.0)
    assert reads == [1, CT_SHAPE[0]] and np.array_equal(_pixels(first), _pixels(whole))


def test_a_file_replaced_since_its_header_was_read_is_decoded_from_its_instance(
        settings: Settings, session: Session, admin: User, ct_files: list[Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The head says where the pixels lay in the file as it was; a file of another size now
    is not read at that offset."""
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    series = session.exec(select(Series)).one()
    opening = opening_of(series.opening, current_instances(session, series.id).key)
    assert opening is not None
    path = runtime.store("local").path(opening.key)
    ds = dcmread(path)
    ds.ImageComments = "re-sent with a comment: the pixel data moved"
    ds.save_as(path, enforce_file_format=True)
    reads = _instance_reads(monkeypatch, settings)
    first, whole = _cold_then_whole(session, admin, CT_UID, center=40.0, width=400.0)
    assert reads == [1, CT_SHAPE[0]] and np.array_equal(_pixels(first), _pixels(whole))
