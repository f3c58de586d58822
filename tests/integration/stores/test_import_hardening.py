"""Bad uploads refused cleanly with nothing half-stored (issue 12, findings 1, 2, 3, 4 and 7).

Every upload here ends with the same check (`_consistent`): the store holds exactly the
indexed files, and every indexed instance is counted by an `images.import` audit event.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate, generate_fragments
from sqlmodel import Session, func, select

from labelstack.components.image_table import series_row
from labelstack.config import Settings
from labelstack.db.models import AuditEvent, Instance, Series
from labelstack.imaging.phantom import ct_datasets, write_ct_series
from labelstack.services.images import importing as image_import
from labelstack.services.images.index import search_series
from labelstack.services.images.sources import sources_from_paths

ZIP_SERIES = "1.2.826.0.1.3680043.8.498.7001"
CT_UID = "1.2.826.0.1.3680043.8.498.7002"


@pytest.fixture
def admin(make_user, token_for) -> dict[str, str]:
    return token_for(make_user("admin"))


@pytest.fixture(scope="session")
def seventy_one(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """71 small CT slices of one series: 70 go into a zip intact, the last one damaged."""
    return write_ct_series(tmp_path_factory.mktemp("ct71"), shape=(71, 16, 16),
                           spacing=(2.5, 0.8, 0.8), series_uid=ZIP_SERIES, seed=None)


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _stored_keys(settings: Settings) -> set[str]:
    root = settings.data_dir / "dicom"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _consistent(session: Session, settings: Settings) -> None:
    """Nothing half-stored: no store file without an index row and the reverse, no temp
    files, and every indexed instance is counted by an audit event of its import."""
    session.expire_all()
    keys = set(session.exec(select(Instance.store_key)).all())
    assert _stored_keys(settings) == keys
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "images.import")).all()
    assert sum(e.details["stored"] for e in events) == len(keys)


def _raw(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _post(client: TestClient, headers: dict, files: list[tuple[str, bytes]]):
    return client.post("/api/v1/dicom", headers=headers,
                       files=[("files", (name, data, "application/octet-stream"))
                              for name, data in files])


# --- finding 1: a corrupt zip member --------------------------------------------------------

def _central_entry(data: bytes | bytearray, index: int) -> int:
    """Offset of the `index`-th central directory header (-1: the last)."""
    offsets, at = [], 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:
        offsets.append(at)
        at += 4
    return offsets[index]


def _local_data(data: bytes | bytearray, entry: int) -> int:
    """Where the compressed bytes of the member whose central header is at `entry` start."""
    header = struct.unpack_from("<I", data, entry + 42)[0]
    name_len, extra_len = struct.unpack_from("<HH", data, header + 26)
    return header + 30 + name_len + extra_len


def _bad_crc(data: bytearray) -> None:
    entry = _central_entry(data, -1)
    data[entry + 16:entry + 20] = bytes(b ^ 0xFF for b in data[entry + 16:entry + 20])


def _broken_deflate(data: bytearray) -> None:
    data[_local_data(data, _central_entry(data, -1))] = 0xFF  # block type 3: invalid


def _encrypted(data: bytearray) -> None:
    entry = _central_entry(data, -1)
    flags = struct.unpack_from("<H", data, entry + 8)[0]
    struct.pack_into("<H", data, entry + 8, flags | 0x1)


def _unknown_method(data: bytearray) -> None:
    struct.pack_into("<H", data, _central_entry(data, -1) + 10, 77)


CORRUPTIONS = [
    pytest.param(_bad_crc, "CRC", id="bad-crc"),
    pytest.param(_broken_deflate, "invalid block type", id="broken-deflate"),
    pytest.param(_encrypted, "encrypted", id="encrypted"),
    pytest.param(_unknown_method, "compression method", id="unknown-method"),
]


def _corrupt_zip(paths: list[Path], damage) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for path in paths:
            z.write(path, f"ct/{path.name}")
    data = bytearray(buffer.getvalue())
    damage(data)
    return bytes(data)


@pytest.mark.parametrize("damage,reason", CORRUPTIONS)
def test_a_corrupt_zip_member_is_refused_and_the_rest_stored(
        client: TestClient, admin: dict, session: Session, settings: Settings,
        seventy_one: list[Path], damage, reason: str) -> None:  # noqa: ANN001
    """70 good members and a corrupt last one: the 70 are stored, indexed and audited, the
    last is refused with its reason; no 500, no orphan file, no unaudited index row."""
    r = _post(client, admin, [("series.zip", _corrupt_zip(seventy_one, damage))])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"] == {"stored": 70, "present": 0, "conflict": 0, "rejected": 1}
    [bad] = [item for item in body["items"] if item["status"] == "rejected"]
    assert bad["name"] == f"series.zip:ct/{seventy_one[-1].name}"
    assert reason in bad["reason"] and "zip member" in bad["reason"], bad["reason"]
    _consistent(session, settings)
    series = session.exec(select(Series)).one()
    assert (series.number_of_instances, series.incomplete) == (70, False)


def test_a_failure_between_commits_leaves_no_orphans(session: Session, settings: Settings,
                                                     seventy_one: list[Path]) -> None:
    """Something no file check foresees (here SystemExit while reading file 67) after the
    first batch was committed: the files of the open batch leave the store again, the
    committed batch carries its audit event, and its series says it is incomplete."""

    def sources():  # noqa: ANN202
        for number, source in enumerate(sources_from_paths(seventy_one)):
            if number == 66:
                raise SystemExit("stopped")
            yield source

    with pytest.raises(SystemExit):
        image_import.import_dicom(session, actor=None, sources=sources())
    session.rollback()
    _consistent(session, settings)
    series = session.exec(select(Series)).one()
    assert (series.number_of_instances, series.incomplete) == (image_import.COMMIT_EVERY, True)


# --- finding 2: zip bombs -----------------------------------------------------------------

def test_a_zip_bomb_is_refused_in_bounded_memory(client: TestClient, admin: dict,
                                                 session: Session, settings: Settings,
                                                 zip_bomb: Path) -> None:
    data = zip_bomb.read_bytes()
    assert len(data) < 2 * 2**20
    tracemalloc.start()
    try:
        r = _post(client, admin, [("bomb.zip", data)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["status"] == "rejected" and "LABELSTACK_MAX_ZIP_RATIO" in item["reason"], item
    assert peak < 32 * 2**20 + 8 * len(data), f"peak {peak / 2**20:.0f} MiB"
    _consistent(session, settings)


def test_a_member_whose_header_lies_is_bounded_while_it_streams(settings: Settings) -> None:
    """The size check does not trust the zip's headers: the bytes are counted as they come."""
    from labelstack.services.images import sources

    member = sources.MemberLimits(max_bytes=2**20, max_ratio=1000)
    out = io.BytesIO()
    with pytest.raises(sources.SourceError, match="more than 1 MB"):
        sources.copy_bounded(io.BytesIO(bytes(3 * 2**20)), out, name="x", compressed=2**20,
                             limits=member)
    assert out.tell() <= 2**20 + sources.CHUNK


def test_the_uncompressed_size_of_a_member_is_bounded(client: TestClient, admin: dict,
                                                      session: Session, settings: Settings,
                                                      seventy_one: list[Path]) -> None:
    settings.max_zip_member_mb = 1
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, 3 * 2**20, dtype=np.uint8).tobytes()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("big.dcm", noise)
        z.write(seventy_one[0], "small.dcm")
    r = _post(client, admin, [("two.zip", buffer.getvalue())])
    assert r.status_code == 200, r.text
    items = {i["name"]: i for i in r.json()["items"]}
    assert items["two.zip:small.dcm"]["status"] == "stored"
    big = items["two.zip:big.dcm"]
    assert big["status"] == "rejected" and "LABELSTACK_MAX_ZIP_MEMBER_MB" in big["reason"], big
    _consistent(session, settings)


# --- finding 3: broken headers and pixel data ---------------------------------------------

def _wrong_vr(raw: bytes, tag: int, vr: bytes = b"XX") -> bytes:
    """Explicit VR little endian: the element's VR replaced, its length kept."""
    at = raw.find(struct.pack("<HH", tag >> 16, tag & 0xFFFF), 132)
    assert at > 0
    return raw[:at + 4] + vr + raw[at + 6:]


def _ct_slice(uid: str = CT_UID, **kwargs) -> pydicom.Dataset:
    return ct_datasets(shape=(1, 16, 16), series_uid=uid, seed=None, **kwargs)[0]


def _rle_flipped() -> bytes:
    """MR_small_RLE with every byte after the RLE header inverted: pylibjpeg-rle panics."""
    ds = pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    [fragment] = [f for f in generate_fragments(ds.PixelData) if len(f) > 64]
    ds.PixelData = encapsulate([fragment[:64] + bytes(b ^ 0xFF for b in fragment[64:])])
    return _raw(ds)


BROKEN_UPLOADS = [
    pytest.param(lambda: _wrong_vr(_raw(_ct_slice()), 0x00080018), "SOPInstanceUID",
                 id="sop-uid-unknown-vr"),
    pytest.param(lambda: _wrong_vr(_raw(_ct_slice()), 0x0020000E), "SeriesInstanceUID",
                 id="series-uid-unknown-vr"),
    pytest.param(lambda: _wrong_vr(_raw(_ct_slice()), 0x00100010), "PatientName",
                 id="patient-name-unknown-vr"),
    pytest.param(lambda: _wrong_vr(_raw(_ct_slice()), 0x00280010), "Rows", id="rows-unknown-vr"),
    pytest.param(_rle_flipped, "cannot decode pixel data", id="rle-panic"),
]


@pytest.mark.parametrize("make,reason", BROKEN_UPLOADS)
def test_broken_headers_and_pixels_are_refused_with_a_reason(
        client: TestClient, admin: dict, session: Session, settings: Settings,
        make, reason: str) -> None:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _post(client, admin, [("broken.dcm", make())])
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["status"] == "rejected" and reason in item["reason"], item
    assert _count(session, Instance) == 0
    _consistent(session, settings)


# --- finding 4: what the import accepts, the viewer displays --------------------------------

def _series(datasets: list[pydicom.Dataset]) -> list[tuple[str, bytes]]:
    return [(f"{k}.dcm", _raw(ds)) for k, ds in enumerate(datasets)]


def _ct(**kwargs) -> list[pydicom.Dataset]:  # noqa: ANN003
    return ct_datasets(**{"shape": (4, 16, 16), "series_uid": CT_UID, "seed": None, **kwargs})


def _without_orientation() -> list[tuple[str, bytes]]:
    datasets = _ct()
    for ds in datasets:
        del ds.ImageOrientationPatient
    return _series(datasets)


def _degenerate_orientation() -> list[tuple[str, bytes]]:
    datasets = _ct()
    for ds in datasets:
        ds.ImageOrientationPatient = [0, 0, 0, 0, 0, 0]
    return _series(datasets)


def _unused_tag_wrong_vr() -> list[tuple[str, bytes]]:
    return [(f"{k}.dcm", _wrong_vr(_raw(ds), 0x00080070)) for k, ds in enumerate(_ct())]


def _non_finite_window() -> list[tuple[str, bytes]]:
    datasets = _ct()
    for ds in datasets:
        ds.WindowCenter, ds.WindowWidth, ds.SliceThickness = "nan", "inf", "inf"
    return _series(datasets)


ACCEPTED = [
    pytest.param(_without_orientation, "ImageOrientationPatient", id="no-orientation"),
    pytest.param(_degenerate_orientation, "ImageOrientationPatient", id="degenerate-orientation"),
    pytest.param(_unused_tag_wrong_vr, None, id="unused-tag-unknown-vr"),
    pytest.param(_non_finite_window, None, id="non-finite-window"),
]


@pytest.mark.parametrize("make,warning", ACCEPTED)
def test_what_is_accepted_is_displayed(client: TestClient, admin: dict, session: Session,
                                       settings: Settings, make, warning: str | None) -> None:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _post(client, admin, make())
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["stored"] == 4, r.json()
    detail = client.get(f"/api/v1/series/{CT_UID}", headers=admin)
    assert detail.status_code == 200, detail.text
    geometry = detail.json()["geometry"]
    assert geometry["shape"] == [4, 16, 16] and geometry["kind"] == "volume"
    assert all(np.isfinite(geometry["spacing"])) and all(np.isfinite(geometry["default_window"]))
    if warning:
        assert any(warning in w for w in geometry["warnings"]), geometry["warnings"]
    else:
        assert geometry["warnings"] == []
    for path in ("/render", "/thumbnail", "/metadata", "/render?plane=coronal&index=8"):
        r = client.get(f"/api/v1/series/{CT_UID}{path}", headers=admin)
        assert r.status_code == 200, (path, r.text)
    _consistent(session, settings)


def test_a_tag_that_cannot_be_read_shows_as_such(client: TestClient, admin: dict,
                                                 settings: Settings) -> None:
    r = _post(client, admin, _unused_tag_wrong_vr())
    assert r.json()["summary"]["stored"] == 4
    tags = {t["tag"]: t for t in client.get(f"/api/v1/series/{CT_UID}/metadata",
                                            headers=admin).json()["tags"]}
    assert tags["(0008,0070)"]["vr"] == "XX"
    assert tags["(0008,0070)"]["value"].startswith("<cannot read")
    assert tags["(0010,0020)"]["value"] == "PHANTOM-1"


def _palette(damage, name: str = "OBXXXX1A.dcm") -> bytes:  # noqa: ANN001
    ds = pydicom.dcmread(get_testdata_file(name))
    ds.SeriesInstanceUID, ds.SOPInstanceUID = CT_UID, CT_UID + ".1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    damage(ds)
    return _raw(ds)


def _short_palette(ds: pydicom.Dataset) -> None:
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.RedPaletteColorLookupTableDescriptor = [256, 0, 16]
    ds.RedPaletteColorLookupTableData = b"\0\1" * 3


def _slice_with(**values) -> bytes:  # noqa: ANN003
    ds = _ct_slice()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return _raw(ds)


REFUSED = [
    pytest.param(lambda: _slice_with(Rows=0), id="rows-0"),
    pytest.param(lambda: _slice_with(Columns=0), id="columns-0"),
    pytest.param(lambda: _slice_with(PhotometricInterpretation="R#B"), id="photometric-R#B"),
    pytest.param(lambda: _slice_with(PhotometricInterpretation="PALETTE COLOR"), id="no-palette"),
    pytest.param(lambda: _slice_with(PhotometricInterpretation="YBR_FULL"), id="ybr-on-grey"),
    pytest.param(lambda: _slice_with(BitsAllocated=12), id="bits-allocated-12"),
    pytest.param(lambda: _slice_with(SamplesPerPixel=2), id="samples-2"),
    pytest.param(lambda: _slice_with(PixelRepresentation=7), id="pixel-representation-7"),
    pytest.param(lambda: _slice_with(RescaleSlope="inf"), id="rescale-slope-inf"),
    pytest.param(lambda: _palette(_short_palette), id="short-palette"),
    pytest.param(lambda: _palette(lambda ds: setattr(ds, "NumberOfFrames", 0), "OBXXXX1A_2frame.dcm"),
                 id="two-frames-as-0"),
]


@pytest.mark.parametrize("make", REFUSED)
def test_what_cannot_be_displayed_is_refused_at_import(client: TestClient, admin: dict,
                                                       session: Session, settings: Settings,
                                                       make) -> None:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _post(client, admin, [("odd.dcm", make())])
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["status"] == "rejected" and item["reason"], item
    assert client.get(f"/api/v1/series/{CT_UID}", headers=admin).status_code == 404
    _consistent(session, settings)


# --- finding 7: imports that mislead --------------------------------------------------------

def test_a_known_sop_uid_with_other_content_is_a_conflict(client: TestClient, admin: dict,
                                                          session: Session,
                                                          settings: Settings) -> None:
    original = _ct()
    assert _post(client, admin, _series(original)).json()["summary"]["stored"] == 4
    stored = {p: p.read_bytes() for p in (settings.data_dir / "dicom").rglob("*.dcm")}

    elsewhere = _ct_slice("1.2.826.0.1.3680043.8.498.7003")  # another series, other pixels
    elsewhere.SOPInstanceUID = original[0].SOPInstanceUID
    elsewhere.file_meta.MediaStorageSOPInstanceUID = original[0].SOPInstanceUID
    changed = _ct(seed=3)[1]  # the same series, other pixels
    changed.SOPInstanceUID = original[1].SOPInstanceUID
    changed.file_meta.MediaStorageSOPInstanceUID = original[1].SOPInstanceUID
    r = _post(client, admin, [("elsewhere.dcm", _raw(elsewhere)), ("changed.dcm", _raw(changed)),
                              ("same.dcm", _raw(original[2]))])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"] == {"stored": 0, "present": 1, "conflict": 2, "rejected": 0}
    items = {i["name"]: i for i in body["items"]}
    assert items["elsewhere.dcm"]["status"] == "conflict"
    assert CT_UID in items["elsewhere.dcm"]["reason"]
    assert "1.2.826.0.1.3680043.8.498.7003" in items["elsewhere.dcm"]["reason"]
    assert items["changed.dcm"]["status"] == "conflict"
    assert "other content" in items["changed.dcm"]["reason"]
    assert items["same.dcm"]["status"] == "present"
    assert {p: p.read_bytes() for p in (settings.data_dir / "dicom").rglob("*.dcm")} == stored
    assert client.get("/api/v1/series", headers=admin).json()["total"] == 1
    _consistent(session, settings)


KILLED_IMPORT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from labelstack.config import Settings
    from labelstack.db import session as db_session
    from labelstack.services.images import importing, runtime
    from labelstack.services.images.sources import sources_from_paths
    from labelstack.stores import LocalStore

    url, data_dir, folder, kill_at = sys.argv[1:]
    settings = Settings(data_dir=Path(data_dir), database_url=url)
    runtime.configure(settings)
    db_session.configure(url)

    class Dying(LocalStore):
        calls = 0

        def put(self, ds, raw):
            Dying.calls += 1
            if Dying.calls == int(kill_at):
                os.kill(os.getpid(), signal.SIGKILL)
            return super().put(ds, raw)

    with db_session.session_scope() as session:
        importing.import_dicom(session, actor=None, sources=sources_from_paths([Path(folder)]),
                               store=Dying(settings.data_dir / "dicom"))
""")


def test_a_killed_import_leaves_its_series_marked_incomplete(
        client: TestClient, admin: dict, session: Session, settings: Settings, db_url: str,
        seventy_one: list[Path]) -> None:
    """kill -9 after the first batch: the series is served, but says it is incomplete (API
    detail and list, the Images page's row) until an import of it finishes."""
    done = subprocess.run([sys.executable, "-c", KILLED_IMPORT, db_url, str(settings.data_dir),
                           str(seventy_one[0].parent), "67"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == -signal.SIGKILL, done.stderr
    session.expire_all()
    series = session.exec(select(Series)).one()
    assert (series.number_of_instances, series.incomplete) == (image_import.COMMIT_EVERY, True)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "images.import")).all()
    assert sum(e.details["stored"] for e in events) == image_import.COMMIT_EVERY

    detail = client.get(f"/api/v1/series/{ZIP_SERIES}", headers=admin).json()
    assert detail["incomplete"] is True
    assert any("incomplete" in w for w in detail["geometry"]["warnings"]), detail["geometry"]
    assert client.get("/api/v1/series", headers=admin).json()["items"][0]["incomplete"] is True
    assert series_row(search_series(session).items[0])["incomplete"] is True

    report = image_import.import_dicom(session, actor=None, sources=sources_from_paths(seventy_one))
    assert report.summary["stored"] == 71 - image_import.COMMIT_EVERY
    detail = client.get(f"/api/v1/series/{ZIP_SERIES}", headers=admin).json()
    assert detail["incomplete"] is False and detail["number_of_instances"] == 71
    assert not any("incomplete" in w for w in detail["geometry"]["warnings"])
    assert series_row(search_series(session).items[0])["incomplete"] is False
    _consistent(session, settings)
