"""The dataset zip: final (accepted) annotations only, NIfTI images and masks that read back as
saved, a manifest naming UIDs, label, version, author, reviewer and dates; from the API and
the `labelstack export` command; nothing final is a clear refusal that leaves nothing behind."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.annotation.nifti import from_nifti
from labelstack.config import Settings
from labelstack.db.enums import AuditAction
from labelstack.db.models import AuditEvent, Label, LabelAssignment
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.errors import Conflict
from labelstack.services.exports import dataset
from labelstack.services.images.view import load_volume
from tests.integration.exports.seg_helpers import OBLIQUE, accept, assign, ball, draw, import_image

API = "/api/v1"
SHAPE = (6, 20, 18)


@pytest.fixture
def final(session: Session, make_user, tmp_path: Path, settings: Settings):  # noqa: ANN001, ANN201
    """Two images; Lung accepted on both, Tumour accepted on the first, rejected on the second."""
    admin, ann, rev = make_user("admin"), make_user("annotator"), make_user("reviewer")
    first = import_image(session, write_ct_series(tmp_path / "a", shape=SHAPE, shuffle=True,
                                                  patient_id="DS-A"))
    second = import_image(session, write_ct_series(tmp_path / "b", shape=SHAPE, orientation=OBLIQUE,
                                                   patient_id="DS-B"))
    masks, accepted, rejected = {}, [], []
    for n, series in enumerate((first, second)):
        lung, tumour = assign(session, series, "Lung", "#33cc66"), assign(session, series, "Tumour")
        masks[lung.id] = ball(SHAPE, (2 + n, 9, 8), 4)
        masks[tumour.id] = ball(SHAPE, (3, 10, 9), 2 + n)
        drawn = draw(session, admin, ann, {lung.id: masks[lung.id], tumour.id: masks[tumour.id]})
        accept(session, admin, rev, drawn if n == 0 else drawn[:1])
        accepted += drawn if n == 0 else drawn[:1]
        if n == 1:
            accept(session, admin, rev, drawn[1:], result="rejected")
            rejected += drawn[1:]
    return dict(admin=admin, ann=ann, rev=rev, images=[first, second], accepted=accepted,
                rejected=rejected, masks={a.id: masks[a.label_assignment_id] for a in accepted})


def _check_zip(session: Session, data: bytes, final: dict, expected_ids: set[int],
               images: bool = True) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "labelstack-dataset/1"
    assert {a["annotation_id"] for a in manifest["annotations"]} == expected_ids
    for entry in manifest["annotations"]:
        mask = from_nifti(archive.read(entry["mask"])).data.astype(bool)
        assert np.array_equal(mask, final["masks"][entry["annotation_id"]])
        assert entry["author"] == final["ann"].display_name
        assert entry["reviewer"] == final["rev"].display_name
        assert entry["review_result"] == "accepted" and entry["version"] == 1
        assert entry["reviewed_at"] and entry["created_at"] and entry["voxels"] == int(mask.sum())
    for image in manifest["images"]:
        volume = load_volume(session, image["series_uid"])
        assert image["shape_zyx"] == list(volume.shape)
        assert len(image["slices"]) == volume.shape[0]
        if images:
            pixels = from_nifti(archive.read(image["image"])).data
            assert np.array_equal(pixels, volume.pixels.astype(pixels.dtype))
        else:
            assert "image" not in image and not any(n.startswith("images/") for n in archive.namelist())
    return manifest


def test_api_exports_only_final_work(session: Session, final, client: TestClient, token_for,
                                     settings: Settings) -> None:  # noqa: ANN001
    r = client.get(f"{API}/exports/dataset", headers=token_for(final["admin"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    manifest = _check_zip(session, r.content, final, {a.id for a in final["accepted"]})
    assert not ({a.id for a in final["rejected"]} & {a["annotation_id"] for a in manifest["annotations"]})
    assert [lb["name"] for lb in manifest["labels"]] == ["Lung", "Tumour"]
    assert not list((settings.data_dir / "exports").glob("*"))  # the temporary file is gone
    lung = session.exec(select(Label).where(Label.name == "Lung")).one()
    r = client.get(f"{API}/exports/dataset", params={"label_id": [lung.id], "images": False,
                                                     "series_id": [final["images"][1].id]},
                   headers=token_for(final["admin"]))
    pair = session.exec(select(LabelAssignment).where(
        LabelAssignment.label_id == lung.id, LabelAssignment.series_id == final["images"][1].id)).one()
    lung_on_second = {a.id for a in final["accepted"] if a.label_assignment_id == pair.id}
    _check_zip(session, r.content, final, lung_on_second, images=False)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.dataset_export)).all()
    assert [e.details["annotations"] for e in events] == [3, 1]


def test_nothing_final_is_refused_and_leaves_nothing(session: Session, final, client: TestClient,
                                                     token_for, settings: Settings) -> None:  # noqa: ANN001
    tumour = session.exec(select(Label).where(Label.name == "Tumour")).one()
    r = client.get(f"{API}/exports/dataset", params={"label_id": [tumour.id],
                                                     "series_id": [final["images"][1].id]},
                   headers=token_for(final["admin"]))
    assert r.status_code == 409 and "nothing final to export" in r.json()["detail"]
    assert not (settings.data_dir / "exports").exists() or not list(
        (settings.data_dir / "exports").iterdir())
    assert client.get(f"{API}/exports/dataset", params={"label_id": [99999]},
                      headers=token_for(final["admin"])).status_code == 404
    assert client.get(f"{API}/exports/dataset", headers=token_for(final["rev"])).status_code == 403
    with pytest.raises(Conflict):
        dataset.plan_dataset(session, actor=None, series_ids=[final["images"][1].id],
                             label_ids=[tumour.id])
    assert session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.dataset_export)).all() == []


def _labelstack(*args: str, settings: Settings, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELSTACK_")}
    env["LABELSTACK_DATABASE_URL"] = db_url
    return subprocess.run([sys.executable, "-m", "labelstack", *args, "--data-dir",
                           str(settings.data_dir)], capture_output=True, text=True, env=env,
                          timeout=300)


def test_cli_export_dataset_seg_and_import(session: Session, final, settings: Settings,
                                           db_url: str, tmp_path: Path) -> None:
    session.commit()  # the command runs beside this session
    out = tmp_path / "out" / "dataset.zip"
    out.parent.mkdir()
    r = _labelstack("export", "dataset", str(out), "--label", "lung", "--label", "Tumour",
                    settings=settings, db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert "3 annotation(s) on 2 image(s)" in r.stdout
    _check_zip(session, out.read_bytes(), final, {a.id for a in final["accepted"]})
    assert [p.name for p in out.parent.iterdir()] == ["dataset.zip"]
    r = _labelstack("export", "dataset", str(tmp_path / "none.zip"), "--label", "Tumour", "--image",
                    final["images"][1].series_uid, settings=settings, db_url=db_url)
    assert r.returncode == 2 and "nothing final to export" in r.stderr
    assert not (tmp_path / "none.zip").exists()
    seg_file = tmp_path / "lung.dcm"
    r = _labelstack("export", "seg", str(final["accepted"][0].id), "-o", str(seg_file),
                    settings=settings, db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert seg_file.read_bytes()[128:132] == b"DICM"
    r = _labelstack("seg-import", str(seg_file), settings=settings, db_url=db_url)
    assert r.returncode == 2 and "makes only the first version" in r.stderr
    r = _labelstack("seg-import", str(seg_file), "--create-labels", "--series",
                    final["images"][1].series_uid, settings=settings, db_url=db_url)
    assert r.returncode == 2 and "does not fit image" in r.stderr
