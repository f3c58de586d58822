"""The render route shows each of a file's VOI LUT tables when asked (`table=k`), exactly as
the display pipeline does, and says so when the file has no such table."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient

from labelstack.imaging.render import render_slice
from labelstack.imaging.volume import volume_from_datasets
from tests.unit.imaging.test_display_pipeline import stored_image, voi_table


@pytest.fixture
def admin(make_user, token_for) -> dict[str, str]:  # noqa: ANN001
    return token_for(make_user("admin"))


def _upload(client: TestClient, admin: dict, tmp_path: Path, **tags) -> pydicom.Dataset:
    """A 12-bit image with `tags`, uploaded."""
    stored = (np.arange(64 * 64, dtype=np.uint16) * 3 % 4096).reshape(64, 64)
    ds = stored_image(stored, BitsStored=12, HighBit=11, **tags)
    ds.PatientID, ds.PatientName = "VOI-1", "Voi^Lut"
    path = tmp_path / "voi.dcm"
    ds.save_as(path, enforce_file_format=True)
    r = client.post("/api/v1/dicom", headers=admin,
                    files=[("files", (path.name, path.read_bytes(), "application/dicom"))])
    assert r.status_code == 200 and r.json()["summary"]["stored"] == 1, r.text
    return pydicom.dcmread(path)


@pytest.fixture
def two_tables(client: TestClient, admin: dict, tmp_path: Path) -> pydicom.Dataset:
    """An image carrying a VOI LUT Sequence of two different tables."""
    rng = np.random.default_rng(7)
    tables = [voi_table(100, np.sort(rng.integers(0, 4096, 3000)), 12, "NORMAL"),
              voi_table(0, np.sort(rng.integers(0, 256, 4096))[::-1], 8, "HARDER")]
    return _upload(client, admin, tmp_path, VOILUTSequence=tables)


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def test_each_table_renders_as_the_pipeline_shows_it(client: TestClient, admin: dict,
                                                     two_tables: pydicom.Dataset) -> None:
    uid = str(two_tables.SeriesInstanceUID)
    reference = volume_from_datasets([two_tables])
    got = []
    for table in (0, 1):
        r = client.get(f"/api/v1/series/{uid}/render", params={"table": table}, headers=admin)
        assert r.status_code == 200, r.text
        got.append(_pixels(r.content))
        np.testing.assert_array_equal(got[-1], _pixels(render_slice(reference, table=table)))
    assert not np.array_equal(got[0], got[1])


@pytest.mark.parametrize("table", [2, 17])
def test_a_table_the_file_lacks_is_refused(client: TestClient, admin: dict,
                                           two_tables: pydicom.Dataset, table: int) -> None:
    uid = str(two_tables.SeriesInstanceUID)
    r = client.get(f"/api/v1/series/{uid}/render", params={"table": table}, headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"] == (f"VOI LUT table {table} out of range: this image's tables "
                                  "are 0..1")


def test_a_negative_table_is_refused(client: TestClient, admin: dict,
                                     two_tables: pydicom.Dataset) -> None:
    uid = str(two_tables.SeriesInstanceUID)
    r = client.get(f"/api/v1/series/{uid}/render", params={"table": -1}, headers=admin)
    assert r.status_code == 422 and "greater than or equal to 0" in r.text


def test_a_table_asked_of_an_image_without_any_is_refused(client: TestClient, admin: dict,
                                                          tmp_path: Path) -> None:
    ds = _upload(client, admin, tmp_path, WindowCenter=2048, WindowWidth=4096)
    r = client.get(f"/api/v1/series/{ds.SeriesInstanceUID}/render", params={"table": 0},
                   headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"] == "VOI LUT table 0 out of range: this image's tables are none"
