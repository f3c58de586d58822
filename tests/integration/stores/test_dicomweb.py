"""Against a real Orthanc: STOW import, QIDO sync (full and incremental), WADO read, render,
and the same pixels from Orthanc as from the local store."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from pydicom.data import get_testdata_file
from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db.models import AuditEvent, Series
from labelstack.imaging.render import render_slice
from labelstack.imaging.volume import volume_from_datasets
from labelstack.services.images import catalog as image_catalog
from labelstack.services.images import importing as image_import
from labelstack.services.images import view as image_view
from labelstack.services.images.sources import sources_from_paths
from labelstack.stores import DicomWebStore, LocalStore, StoreError
from tests.integration.stores.conftest import CT_SHAPE
from tests.orthanc import Orthanc
from tests.phantoms import mixed_ct_datasets

pytestmark = pytest.mark.orthanc
CT_UID = "1.2.826.0.1.3680043.8.498.1001"


def _push(orthanc: Orthanc, paths: list[Path]) -> None:
    """Put files into Orthanc behind our back (its own REST API), as another modality would."""
    for path in paths:
        httpx.post(f"{orthanc.url}/instances", content=path.read_bytes()).raise_for_status()


def _orthanc_series(orthanc: Orthanc) -> list[str]:
    return httpx.get(f"{orthanc.url}/series").json()


def test_import_goes_to_orthanc_via_stow(session: Session, dicomweb_settings: Settings,
                                         orthanc: Orthanc, ct_files: list[Path]) -> None:
    report = image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    assert report.store == "dicomweb"
    assert report.summary == {"stored": CT_SHAPE[0], "present": 0, "conflict": 0, "rejected": 0}
    assert len(httpx.get(f"{orthanc.url}/instances").json()) == CT_SHAPE[0]
    series = session.exec(select(Series)).one()
    assert (series.store, series.number_of_instances) == ("dicomweb", CT_SHAPE[0])
    assert not (dicomweb_settings.data_dir / "dicom").exists()
    again = image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files[:2]))
    assert again.summary["present"] == 2


def test_sync_full_and_incremental(session: Session, dicomweb_settings: Settings,
                                   orthanc: Orthanc, ct_files: list[Path]) -> None:
    mr = Path(get_testdata_file("MR_small.dcm"))
    _push(orthanc, ct_files[:4] + [mr])
    first = image_catalog.sync_from_dicomweb(session, actor=None)
    assert (first.series_seen, first.series_updated, first.instances_added) == (2, 2, 5)
    mr_uid = str(dcmread(mr, stop_before_pixels=True).SeriesInstanceUID)
    assert sorted(first.updated) == sorted([CT_UID, mr_uid])
    ct = session.exec(select(Series).where(Series.series_uid == CT_UID)).one()
    assert (ct.modality, ct.rows, ct.number_of_instances) == ("CT", CT_SHAPE[1], 4)

    _push(orthanc, ct_files[4:])
    grown = image_catalog.sync_from_dicomweb(session, actor=None)
    assert (grown.series_updated, grown.instances_added) == (1, 2)
    assert image_catalog.sync_from_dicomweb(session, actor=None).instances_added == 0

    mr_id = [s for s in _orthanc_series(orthanc)
             if httpx.get(f"{orthanc.url}/series/{s}").json()["MainDicomTags"]
             .get("Modality") == "MR"][0]
    httpx.delete(f"{orthanc.url}/series/{mr_id}").raise_for_status()
    assert image_catalog.sync_from_dicomweb(session, actor=None).series_removed == 0
    full = image_catalog.sync_from_dicomweb(session, actor=None, full=True)
    assert (full.series_removed, full.instances_added) == (1, 0)
    assert [s.series_uid for s in session.exec(select(Series)).all()] == [CT_UID]
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "images.sync")
                          .order_by(AuditEvent.id)).all()
    assert [e.details["updated"] for e in events[:2]] == [
        {"count": 2, "uids": first.updated}, {"count": 1, "uids": [CT_UID]}]
    assert events[-1].details["removed"] == {"count": 1, "uids": [mr_uid]}
    assert events[-1].details["kept"] == {"count": 0, "uids": []}
    assert events[-1].details["series_removed"] == 1


def test_sync_route(client: TestClient, make_user, token_for, dicomweb_settings: Settings,
                    orthanc: Orthanc, ct_files: list[Path]) -> None:
    _push(orthanc, ct_files)
    r = client.post("/api/v1/dicomweb/sync", params={"full": True},
                    headers=token_for(make_user("admin")))
    assert r.status_code == 200, r.text
    assert r.json()["instances_added"] == CT_SHAPE[0] and r.json()["full"] is True


def test_read_back_and_render_from_orthanc(client: TestClient, make_user, token_for,
                                           dicomweb_settings: Settings, ct_files: list[Path]) -> None:
    headers = token_for(make_user("admin"))
    files = [("files", (p.name, p.read_bytes(), "application/dicom")) for p in ct_files]
    assert client.post("/api/v1/dicom", files=files, headers=headers).json()["summary"][
        "stored"] == CT_SHAPE[0]
    geometry = client.get(f"/api/v1/series/{CT_UID}", headers=headers).json()["geometry"]
    assert geometry["shape"] == list(CT_SHAPE)
    reference = volume_from_datasets([dcmread(p) for p in ct_files])
    r = client.get(f"/api/v1/series/{CT_UID}/render", params={"plane": "coronal", "index": 17},
                   headers=headers)
    assert r.status_code == 200
    assert r.content == render_slice(reference, "coronal", 17)


@pytest.mark.parametrize("name", [None, "MR_small_jp2klossless.dcm", "MR_small_RLE.dcm",
                                  "examples_ybr_color.dcm", "RG3_J2KR.dcm"])
def test_same_pixels_from_local_store_and_orthanc(tmp_path: Path, orthanc: Orthanc,
                                                  dicomweb_settings: Settings, ct_files: list[Path],
                                                  name: str | None) -> None:
    """None is the generated CT series; the others are real files in their own syntaxes."""
    paths = ct_files if name is None else [Path(get_testdata_file(name))]
    local, remote = LocalStore(tmp_path / "local"), DicomWebStore(orthanc.dicomweb_url)
    local_keys, remote_keys = [], []
    for path in paths:
        ds = dcmread(path)
        local_keys.append(local.put(ds, path.read_bytes()))
        remote_keys.append(remote.put(ds, path.read_bytes()))
    from_remote = remote.read(remote_keys)
    assert [d.file_meta.TransferSyntaxUID for d in from_remote] == \
        [dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID for p in paths]
    a = volume_from_datasets(local.read(local_keys))
    b = volume_from_datasets(from_remote)
    assert a.shape == b.shape and np.array_equal(a.pixels, b.pixels)
    assert render_slice(a, "axial", 0) == render_slice(b, "axial", 0)


def test_metadata_from_orthanc(admin, session: Session, dicomweb_settings: Settings,
                               ct_files: list[Path]) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files[:1]))
    meta = image_view.metadata(session, actor=admin, series_uid=CT_UID)
    tags = {t["keyword"]: t["value"] for t in meta["tags"]}
    assert tags["PatientID"] == "CT-001"


def _store_all(store: DicomWebStore, paths: list[Path]) -> list[str]:
    return [store.put(dcmread(p), p.read_bytes()) for p in paths]


def test_reading_one_or_a_few_instances_fetches_only_those(
        dicomweb_settings: Settings, orthanc: Orthanc, ct_files: list[Path], monkeypatch) -> None:
    """A thumbnail or a tag view asks for one instance: WADO-RS per instance, not the series."""
    store = DicomWebStore(orthanc.dicomweb_url)
    keys = _store_all(store, ct_files)
    calls: list[str] = []
    for name in ("retrieve_instance", "iter_series"):
        original = getattr(store.client, name)
        monkeypatch.setattr(store.client, name,
                            lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    wanted = [keys[3], keys[1]]
    datasets = store.read(wanted)
    assert [f"{d.StudyInstanceUID}/{d.SeriesInstanceUID}/{d.SOPInstanceUID}" for d in datasets] == wanted
    assert np.array_equal(datasets[0].pixel_array, dcmread(ct_files[3]).pixel_array)
    assert calls == ["retrieve_instance", "retrieve_instance"]
    calls.clear()
    assert len(store.read(keys)) == CT_SHAPE[0]
    assert calls == ["iter_series"]


def test_reading_an_instance_gone_from_orthanc_says_so(dicomweb_settings: Settings, orthanc: Orthanc,
                                                       ct_files: list[Path]) -> None:
    store = DicomWebStore(orthanc.dicomweb_url)
    key = _store_all(store, ct_files[:1])[0]
    with pytest.raises(StoreError, match="1 instance\\(s\\) are gone"):
        store.read([key.rsplit("/", 1)[0] + "/1.2.826.0.1.3680043.8.498.4242"])


def test_synced_index_states_the_main_stack_shape(session: Session, dicomweb_settings: Settings,
                                                  orthanc: Orthanc, tmp_path: Path) -> None:
    """A localizer and images of another size in the series: the index gives the viewer's shape."""
    paths = []
    for number, ds in enumerate(mixed_ct_datasets(series_uid="1.2.826.0.1.3680043.8.498.3001")):
        paths.append(tmp_path / f"{number:03d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    _push(orthanc, paths[:1])  # the localizer alone first
    image_catalog.sync_from_dicomweb(session, actor=None)
    series = session.exec(select(Series)).one()
    assert (series.number_of_frames, series.rows, series.columns) == (1, 40, 32)
    _push(orthanc, paths[1:])
    image_catalog.sync_from_dicomweb(session, actor=None)
    session.refresh(series)
    shown = image_view.load_volume(session, series.series_uid).pixels.shape
    assert (series.number_of_frames, series.rows, series.columns) == shown == (10, 32, 32)
    assert series.number_of_instances == len(paths)
