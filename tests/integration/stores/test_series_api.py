"""The DICOM upload and series routes: roles, reports, geometry, rendering, tags."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from pydicom.data import get_testdata_file

from labelstack.config import Settings
from labelstack.imaging.render import render_slice
from labelstack.imaging.volume import volume_from_datasets
from tests.integration.stores.conftest import CT_SHAPE

CT_UID = "1.2.826.0.1.3680043.8.498.1001"


def _upload(client: TestClient, headers: dict, paths: list[Path]):
    files = [("files", (p.name, p.read_bytes(), "application/dicom")) for p in paths]
    return client.post("/api/v1/dicom", files=files, headers=headers)


@pytest.fixture
def admin(make_user, token_for) -> dict[str, str]:
    return token_for(make_user("admin"))


@pytest.fixture
def loaded(client: TestClient, admin: dict, settings: Settings, ct_files: list[Path]) -> None:
    mr = Path(get_testdata_file("MR_small.dcm"))
    r = _upload(client, admin, ct_files + [mr])
    assert r.status_code == 200, r.text


def test_upload_reports_each_file(client: TestClient, admin: dict, settings: Settings,
                                  ct_files: list[Path], tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    r = _upload(client, admin, ct_files[:2] + [junk])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["store"] == "local"
    assert body["summary"] == {"stored": 2, "present": 0, "conflict": 0, "rejected": 1}
    assert body["items"][2]["name"] == "notes.txt"
    assert "not a DICOM file" in body["items"][2]["reason"]
    assert _upload(client, admin, ct_files[:1]).json()["summary"]["present"] == 1


def test_upload_opens_zips_from_the_spooled_file(client: TestClient, admin: dict,
                                                 settings: Settings, ct_files: list[Path],
                                                 tmp_path: Path) -> None:
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in ct_files:
            z.write(path, f"ct/{path.name}")
    r = _upload(client, admin, [archive])
    assert r.status_code == 200, r.text
    assert r.json()["summary"] == {"stored": len(ct_files), "present": 0, "conflict": 0, "rejected": 0}


def _multipart(paths: list[Path], boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
             f'filename="{p.name}"\r\nContent-Type: application/dicom\r\n\r\n'.encode()
             + p.read_bytes() + b"\r\n" for p in paths]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_upload_over_the_limit_is_refused(client: TestClient, admin: dict, settings: Settings,
                                          ct_files: list[Path], tmp_path: Path,
                                          declared: bool) -> None:
    settings.max_upload_mb = 1
    big = tmp_path / "big.dcm"
    big.write_bytes(b"\0" * (2**20 + 1))
    body, headers = _multipart(ct_files + [big])
    content = body if declared else iter([body[i:i + 65536] for i in range(0, len(body), 65536)])
    r = client.post("/api/v1/dicom", content=content, headers={**admin, **headers})
    assert r.status_code == 413, r.text
    assert r.json() == {"detail": "upload too large: more than the 1 MB limit for one upload "
                                  "(LABELSTACK_MAX_UPLOAD_MB); send fewer or smaller files",
                        "limit_mb": 1}
    assert client.get("/api/v1/series", headers=admin).json()["total"] == 0
    body, headers = _multipart(ct_files)  # under the limit, the same route still imports
    r = client.post("/api/v1/dicom", content=body, headers={**admin, **headers})
    assert r.status_code == 200 and r.json()["summary"]["stored"] == len(ct_files)


def test_upload_needs_multipart_files(client: TestClient, admin: dict, settings: Settings) -> None:
    r = client.post("/api/v1/dicom", content=b"DICM", headers=admin)
    assert r.status_code == 422 and "multipart/form-data" in r.json()["detail"]
    r = client.post("/api/v1/dicom", data={"other": "x"}, files={"x": ("a", b"b")}, headers=admin)
    assert r.status_code == 422 and "`files`" in r.json()["detail"]


@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/dicom"), ("get", "/api/v1/series"), ("post", "/api/v1/dicomweb/sync")])
def test_admin_routes_need_a_login(client: TestClient, settings: Settings, method: str,
                                   path: str) -> None:
    assert getattr(client, method)(path).status_code == 401


@pytest.mark.parametrize("method,path", [("get", "/api/v1/series"),
                                         ("post", "/api/v1/dicomweb/sync")])
def test_admin_routes_refuse_others(client: TestClient, make_user, token_for, settings: Settings,
                                    method: str, path: str) -> None:
    r = getattr(client, method)(path, headers=token_for(make_user("reviewer")))
    assert r.status_code == 403 and "admin" in r.json()["detail"]


def test_upload_as_annotator_is_forbidden(client: TestClient, make_user, token_for,
                                          settings: Settings, ct_files: list[Path]) -> None:
    r = _upload(client, token_for(make_user("annotator")), ct_files[:1])
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["", "/metadata", "/render", "/thumbnail"])
def test_viewing_needs_a_login(client: TestClient, settings: Settings, path: str) -> None:
    assert client.get(f"/api/v1/series/{CT_UID}{path}").status_code == 401


def test_search_and_detail(client: TestClient, admin: dict, loaded: None) -> None:
    r = client.get("/api/v1/series", params={"modality": "CT"}, headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["series_uid"] == CT_UID
    assert client.get("/api/v1/series", params={"limit": 1}, headers=admin).json()["total"] == 2
    detail = client.get(f"/api/v1/series/{CT_UID}", headers=admin).json()
    assert detail["patient_id"] == "CT-001" and detail["number_of_instances"] == CT_SHAPE[0]
    geometry = detail["geometry"]
    assert geometry["shape"] == list(CT_SHAPE) and geometry["kind"] == "volume"
    assert geometry["default_window"] == [40, 400] and geometry["warnings"] == []
    assert client.get("/api/v1/series/1.2.3", headers=admin).status_code == 404


def test_render_matches_the_reference(client: TestClient, admin: dict, loaded: None,
                                      ct_files: list[Path]) -> None:
    viewer = admin
    reference = volume_from_datasets([dcmread(p) for p in ct_files])
    for plane, index in [("axial", 2), ("coronal", 20), ("sagittal", 0)]:
        r = client.get(f"/api/v1/series/{CT_UID}/render",
                       params={"plane": plane, "index": index, "ww": 1500, "wl": -300},
                       headers=viewer)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        got = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
        want = cv2.imdecode(np.frombuffer(render_slice(reference, plane, index, center=-300,
                                                       width=1500), np.uint8),
                            cv2.IMREAD_UNCHANGED)
        assert np.array_equal(got, want), plane
    jpeg = client.get(f"/api/v1/series/{CT_UID}/render", params={"format": "jpeg", "invert": 1},
                      headers=viewer)
    assert jpeg.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(jpeg.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape[:2] == CT_SHAPE[1:]


@pytest.mark.parametrize("params,message", [
    ({"plane": "oblique"}, "axial"),
    ({"index": 6}, "out of range"),
    ({"plane": "coronal", "index": 40}, "out of range"),
    ({"ww": 0}, "greater than 0"),
    ({"format": "gif"}, "png"),
])
def test_render_rejects_bad_parameters(client: TestClient, admin: dict, loaded: None,
                                       params: dict, message: str) -> None:
    r = client.get(f"/api/v1/series/{CT_UID}/render", params=params, headers=admin)
    assert r.status_code == 422
    assert message in r.text


def test_single_image_has_only_frames(client: TestClient, admin: dict, loaded: None) -> None:
    mr = dcmread(get_testdata_file("MR_small.dcm"), stop_before_pixels=True)
    uid = str(mr.SeriesInstanceUID)
    geometry = client.get(f"/api/v1/series/{uid}", headers=admin).json()["geometry"]
    assert geometry["kind"] == "image" and geometry["slices"] == {"axial": 1}
    r = client.get(f"/api/v1/series/{uid}/render", params={"plane": "coronal"}, headers=admin)
    assert r.status_code == 422 and "axial" in r.json()["detail"]


def test_metadata_and_thumbnail(client: TestClient, admin: dict, loaded: None) -> None:
    meta = client.get(f"/api/v1/series/{CT_UID}/metadata", headers=admin).json()
    tags = {t["keyword"]: t for t in meta["tags"]}
    assert tags["PatientID"]["value"] == "CT-001" and tags["PatientID"]["tag"] == "(0010,0020)"
    assert tags["TransferSyntaxUID"]["value"] == "1.2.840.10008.1.2.1"
    assert tags["PixelData"]["value"].endswith("bytes>")
    assert meta["instances"] == CT_SHAPE[0]
    assert client.get(f"/api/v1/series/{CT_UID}/metadata", params={"instance": 9},
                      headers=admin).status_code == 422
    thumb = client.get(f"/api/v1/series/{CT_UID}/thumbnail", headers=admin)
    assert thumb.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert max(image.shape[:2]) <= 128


def test_sync_without_dicomweb_says_why(client: TestClient, admin: dict, settings: Settings) -> None:
    r = client.post("/api/v1/dicomweb/sync", headers=admin)
    assert r.status_code == 409 and "LABELSTACK_DICOMWEB_URL" in r.json()["detail"]
