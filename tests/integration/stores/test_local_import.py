"""Importing into the local store: files, folders, zips, duplicates, and every kind of bad input."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from sqlmodel import Session, func, select

from labelstack.config import Settings
from labelstack.db.models import AuditEvent, Instance, Series, Study
from labelstack.imaging.phantom import ct_datasets
from labelstack.imaging.volume import volume_from_datasets
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images import view as image_view
from labelstack.services.images.index import search_series, series_titles, sync_index
from labelstack.services.images.shape import MAX_AUDIT_UIDS, uid_summary
from labelstack.services.images.sources import Source, sources_from_paths
from labelstack.stores import IndexEntry, LocalStore, SeriesSummary, store_for
from tests.integration.stores.conftest import CT_SHAPE
from tests.phantoms import mixed_ct_datasets


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _stored_files(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "dicom").rglob("*.dcm"))


def test_folder_import_indexes_and_stores(session: Session, settings: Settings,
                                          ct_files: list[Path]) -> None:
    report = image_import.import_dicom(session, actor=None, sources=sources_from_paths([ct_files[0].parent]))
    assert report.summary == {"stored": CT_SHAPE[0], "present": 0, "conflict": 0, "rejected": 0}
    series = session.exec(select(Series)).one()
    study = session.get(Study, series.study_id)
    assert (series.modality, series.rows, series.columns) == ("CT", CT_SHAPE[1], CT_SHAPE[2])
    assert (series.number_of_instances, series.number_of_frames, series.store) == (6, 6, "local")
    assert (study.patient_id, str(study.study_date)) == ("CT-001", "2024-01-15")
    files = _stored_files(settings)
    assert [f.relative_to(settings.data_dir / "dicom").parts[:2] for f in files] == \
        [(study.study_uid, series.series_uid)] * CT_SHAPE[0]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "images.import")).one() \
        .details == {"store": "local", "stored": 6, "present": 0, "conflict": 0, "rejected": 0,
                     "series": {"count": 1, "uids": [series.series_uid]}, "part": 1, "final": True}


def test_importing_twice_is_harmless(session: Session, settings: Settings,
                                     ct_files: list[Path]) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    again = image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    assert again.summary == {"stored": 0, "present": CT_SHAPE[0], "conflict": 0, "rejected": 0}
    assert _count(session, Instance) == CT_SHAPE[0]
    assert session.exec(select(Series)).one().number_of_instances == CT_SHAPE[0]
    assert len(_stored_files(settings)) == CT_SHAPE[0]


def test_zip_import_reports_each_member(session: Session, settings: Settings,
                                        ct_files: list[Path], tmp_path: Path) -> None:
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in ct_files[:3]:
            z.write(path, f"series/{path.name}")
        z.writestr("series/README.txt", "not an image")
        z.writestr("__MACOSX/._junk", "ignored")
    report = image_import.import_dicom(session, actor=None, sources=sources_from_paths([archive]))
    assert report.summary == {"stored": 3, "present": 0, "conflict": 0, "rejected": 1}
    bad = [i for i in report.items if i.status == "rejected"][0]
    assert bad.name == f"{archive}:series/README.txt" and "not a DICOM file" in bad.reason


def _without_pixels(raw: bytes) -> bytes:
    ds = dcmread(io.BytesIO(raw))
    del ds.PixelData
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _with_syntax(raw: bytes, syntax: str) -> bytes:
    ds = dcmread(io.BytesIO(raw))
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = encapsulate([ds.PixelData])
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _other_study(raw: bytes) -> bytes:
    ds = dcmread(io.BytesIO(raw))
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.9999"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.9998"
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


BAD_INPUT = [
    pytest.param(lambda raw: raw[:-500], "truncated pixel data", id="truncated-pixels"),
    pytest.param(lambda raw: raw[:300], "truncated or incomplete", id="truncated-header"),
    pytest.param(lambda raw: b"%PDF-1.4 not an image" * 20, "not a DICOM file", id="non-dicom"),
    pytest.param(lambda raw: b"", "not a DICOM file", id="empty"),
    pytest.param(_without_pixels, "no pixel data", id="no-pixel-data"),
    pytest.param(lambda raw: _with_syntax(raw, "1.2.840.10008.1.2.4.100"),
                 "unsupported transfer syntax", id="mpeg2-syntax"),
    pytest.param(_other_study, "mixed series", id="mixed-series"),
]


@pytest.mark.parametrize("damage,reason", BAD_INPUT)
def test_bad_input_is_rejected_cleanly(session: Session, settings: Settings,
                                       ct_files: list[Path], damage, reason: str) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files[:1]))
    before = (_count(session, Instance), _count(session, Series), _stored_files(settings))
    bad = damage(ct_files[1].read_bytes())
    report = image_import.import_dicom(session, actor=None, sources=[Source("bad.dcm", lambda: bad)])
    [item] = report.items
    assert item.status == "rejected" and reason in item.reason, item.reason
    assert (_count(session, Instance), _count(session, Series), _stored_files(settings)) == before
    assert not list((settings.data_dir / "dicom").rglob(".incoming-*"))


def test_unreadable_paths_are_reported(session: Session, settings: Settings, tmp_path: Path) -> None:
    report = image_import.import_dicom(session, actor=None,
                                 sources=sources_from_paths([tmp_path / "nope.dcm"]))
    assert report.items[0].status == "rejected"
    assert "no such file" in report.items[0].reason


def test_volume_geometry_and_cache(session: Session, settings: Settings,
                                   ct_files: list[Path]) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(list(reversed(ct_files))))
    uid = session.exec(select(Series)).one().series_uid
    volume = image_view.load_volume(session, uid)
    geometry = image_view.geometry(volume)
    assert geometry.shape == list(CT_SHAPE) and geometry.kind == "volume"
    assert geometry.slices == {"axial": 6, "coronal": 40, "sagittal": 48}
    assert geometry.spacing == pytest.approx([2.5, 0.8, 0.8])
    assert volume.pixels.min() == -1000
    assert image_view.load_volume(session, uid) is volume
    image_runtime.volume_cache().flush()
    assert list((settings.data_dir / "cache" / "volumes").glob("*.npy"))


def test_search_filters_and_paging(session: Session, settings: Settings,
                                   ct_files: list[Path]) -> None:
    mr = Path(get_testdata_file("MR_small.dcm"))
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files + [mr]))
    assert search_series(session).total == 2
    assert [r.modality for r in search_series(session, modality="mr").items] == ["MR"]
    assert [r.patient_id for r in search_series(session, patient="ct-0").items] == ["CT-001"]
    assert search_series(session, description="phantom").total == 1
    assert search_series(session, patient="100%").total == 0
    from datetime import date
    assert search_series(session, date_from=date(2024, 1, 1)).total == 1
    page = search_series(session, limit=1, offset=1)
    assert (page.total, len(page.items)) == (2, 1)


def test_rows_carry_ids_and_titles_by_id(session: Session, settings: Settings,
                                         ct_files: list[Path]) -> None:
    mr = Path(get_testdata_file("MR_small.dcm"))
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files + [mr]))
    rows = {r.modality: r for r in search_series(session).items}
    by_uid = {s.series_uid: s.id for s in session.exec(select(Series)).all()}
    assert {r.id for r in rows.values()} == {by_uid[r.series_uid] for r in rows.values()}
    titles = series_titles(session, [rows["CT"].id, rows["CT"].id, rows["MR"].id, 10_000])
    assert titles == {rows["CT"].id: rows["CT"].title, rows["MR"].id: rows["MR"].title}
    assert titles[rows["CT"].id].startswith("CT · ") and "^" not in titles[rows["MR"].id]
    assert series_titles(session, []) == {}


def test_local_sync_rebuilds_a_lost_index(session: Session, settings: Settings,
                                          ct_files: list[Path]) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    series = session.exec(select(Series)).one()
    session.delete(series)
    session.commit()
    report = sync_index(session, store_for(settings, "local"), full=False)
    assert (report.series_seen, report.instances_added) == (1, CT_SHAPE[0])
    assert session.exec(select(Series)).one().number_of_instances == CT_SHAPE[0]


def _write(datasets: list, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, ds in enumerate(datasets):
        paths.append(folder / f"{number:03d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def _echoes() -> list:
    uids = {"series_uid": "1.2.826.0.1.3680043.8.498.2002", "study_uid": "1.2.826.0.1.3680043.8.498.2003"}
    return ct_datasets(shape=(6, 16, 16), seed=1, **uids) + ct_datasets(shape=(6, 16, 16), seed=2, **uids)


SHAPES = [
    pytest.param(lambda: mixed_ct_datasets(series_uid="1.2.826.0.1.3680043.8.498.2001"),
                 id="localizer-and-other-sizes"),
    pytest.param(_echoes, id="two-echoes"),
    pytest.param(lambda: [dcmread(get_testdata_file("examples_ybr_color.dcm"))], id="cine"),
    pytest.param(lambda: [dcmread(get_testdata_file("RG1_UNCI.dcm"))], id="radiograph"),
]


@pytest.mark.parametrize("make", SHAPES)
def test_index_shape_is_the_viewers_volume(session: Session, settings: Settings, tmp_path: Path,
                                           make) -> None:
    """The index states the main stack's (z, y, x), which annotation masks are made at, even
    when the first file indexed is a localizer or the series holds several echoes."""
    paths = _write(make(), tmp_path / "in")
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    series = session.exec(select(Series)).one()
    shown = image_view.load_volume(session, series.series_uid).pixels.shape[:3]
    assert shown == volume_from_datasets([dcmread(p) for p in paths]).pixels.shape[:3]
    assert (series.number_of_frames, series.rows, series.columns) == shown
    assert series.number_of_instances == len(paths)


def test_index_shape_follows_a_series_that_grows(session: Session, settings: Settings,
                                                 tmp_path: Path) -> None:
    paths = _write(mixed_ct_datasets(series_uid="1.2.826.0.1.3680043.8.498.2004"), tmp_path)
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths[:1]))  # the localizer
    series = session.exec(select(Series)).one()
    assert (series.number_of_frames, series.rows, series.columns) == (1, 40, 32)
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths[1:]))
    session.refresh(series)
    assert (series.number_of_frames, series.rows, series.columns) == (10, 32, 32)


def test_a_series_indexed_again_is_not_served_from_a_stale_cache(admin, 
        session: Session, settings: Settings, tmp_path: Path) -> None:
    """Dropped from the index (gone from the store) and imported again with other instances
    of the same count: the viewer decodes the new ones, and the old cache entries are gone."""
    uids = {"series_uid": "1.2.826.0.1.3680043.8.498.2005", "study_uid": "1.2.826.0.1.3680043.8.498.2006"}
    before = _write(ct_datasets(shape=(3, 16, 16), seed=1, **uids), tmp_path / "before")
    after = _write(ct_datasets(shape=(3, 16, 16), seed=2, **uids), tmp_path / "after")
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(before))
    old = np.array(image_view.load_volume(session, uids["series_uid"]).pixels)
    image_view.thumbnail(session, actor=admin, series_uid=uids["series_uid"])
    image_runtime.volume_cache().flush()
    cache = settings.data_dir / "cache"
    assert list((cache / "volumes").glob("*.npy")) and list((cache / "thumbnails").glob("*.jpg"))

    for path in _stored_files(settings):
        path.unlink()
    report = sync_index(session, store_for(settings, "local"), full=True)
    assert report.removed == [uids["series_uid"]]
    assert not list((cache / "volumes").iterdir()) and not list((cache / "thumbnails").iterdir())

    image_import.import_dicom(session, actor=None, sources=sources_from_paths(after))
    new = image_view.load_volume(session, uids["series_uid"]).pixels
    expected = volume_from_datasets([dcmread(p) for p in after]).pixels
    assert not np.array_equal(new, old) and np.array_equal(new, expected)


class _Tampered(LocalStore):
    """A store that lists UIDs no DICOM file may carry (as a broken PACS might)."""

    def list_series(self):
        yield from super().list_series()
        yield SeriesSummary(study_uid="1.2.3", series_uid="../../etc", number_of_instances=1)

    def describe_series(self, study_uid: str, series_uid: str) -> list[IndexEntry]:
        entries = super().describe_series(study_uid, series_uid)
        bad = dataclasses.replace(entries[0], sop_instance_uid="1.2.3/4",
                                  store_key=f"{study_uid}/{series_uid}/1.2.3/4")
        return [*entries, bad]


def test_sync_skips_and_reports_invalid_uids(admin, session: Session, settings: Settings,
                                             ct_files: list[Path]) -> None:
    store = LocalStore(settings.data_dir / "dicom")
    for path in ct_files:
        store.put(dcmread(path), path.read_bytes())
    report = sync_index(session, _Tampered(store.root), full=False)
    assert (report.series_seen, report.instances_added) == (1, CT_SHAPE[0])
    assert [s.split(" is not")[0] for s in report.skipped] == [
        "SeriesInstanceUID '../../etc'", "SOPInstanceUID '1.2.3/4'"]
    assert _count(session, Instance) == CT_SHAPE[0]
    uid = session.exec(select(Series)).one().series_uid
    image_view.thumbnail(session, actor=admin, series_uid=uid)
    [thumbnail] = (settings.data_dir / "cache" / "thumbnails").iterdir()
    assert re.fullmatch(r"[0-9a-f]{40}\.jpg", thumbnail.name)


def test_audit_lists_of_series_are_bounded() -> None:
    uids = [f"1.2.{n}" for n in range(250)]
    assert uid_summary(uids + uids[:5]) == {"count": 250, "uids": uids[:MAX_AUDIT_UIDS]}
