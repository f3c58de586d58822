"""NIfTI and PNG exports over the API, and agreement between annotations: a real (imported,
oblique, shuffled) CT series, masks saved by two annotators on one label assignment."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import cv2
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from sqlmodel import Session, select

from labelstack.annotation.agreement import compare
from labelstack.config import Settings
from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, LabelAssignment, Series, User
from labelstack.imaging.phantom import RESCALE_INTERCEPT, write_ct_series
from labelstack.services.annotations import agreement, revisions
from labelstack.services.errors import InvalidInput, NotFound
from labelstack.services.images import importing
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.workflow import transitions
from tests.integration.workflow.annotation_helpers import annotation_task, make_assignment

API = "/api/v1"
SHAPE = (8, 24, 20)
SPACING = (2.5, 0.8, 0.7)
C30, S30 = np.cos(np.radians(30)), np.sin(np.radians(30))
OBLIQUE = (C30, S30, 0.0, -S30 * C30, C30 * C30, -S30)


def _import(session: Session, paths: list[Path]) -> Series:
    before = {s.id for s in session.exec(select(Series)).all()}
    importing.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    [series] = [s for s in session.exec(select(Series)).all() if s.id not in before]
    return series


def _draw(session: Session, admin: User, author: User, assignment: LabelAssignment,
          mask: np.ndarray) -> Annotation:
    """`author` draws the next version of `assignment` in a task of their own and finishes it."""
    task = annotation_task(session, admin, author, [assignment])
    annotation = session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    revisions.save_mask(session, actor=author, annotation_id=annotation.id, mask=mask, time_spent=1)
    transitions.set_status(session, actor=author, task_id=task.id, status=TaskStatus.done)
    session.refresh(annotation)
    return annotation


def _ball(centre: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    dz, dy, dx = SPACING
    return (((z - centre[0]) * dz) ** 2 + ((y - centre[1]) * dy) ** 2
            + ((x - centre[2]) * dx) ** 2) <= radius_mm**2


@pytest.fixture
def ct(session: Session, make_user, tmp_path: Path, settings: Settings):  # noqa: ANN001, ANN201
    """An oblique CT (files shuffled) with one label drawn by two annotators (v1, v2)."""
    admin, first, second = make_user("admin"), make_user("annotator"), make_user("annotator")
    paths = write_ct_series(tmp_path / "ct", shape=SHAPE, spacing=SPACING, orientation=OBLIQUE,
                            origin=(-40.0, 25.5, 310.0), shuffle=True, patient_id="NIFTI")
    series = _import(session, paths)
    assignment = make_assignment(session, series, name="Lesion")
    masks = [_ball((3.5, 11.0, 9.0), 6.0), _ball((4.0, 12.0, 10.0), 5.5)]
    v1 = _draw(session, admin, first, assignment, masks[0])
    v2 = _draw(session, admin, second, assignment, masks[1])
    return dict(admin=admin, first=first, second=second, series=series, paths=paths,
                assignment=assignment, masks=masks, v1=v1, v2=v2)


def _nifti(response) -> nib.Nifti1Image:  # noqa: ANN001
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    return nib.Nifti1Image.from_bytes(gzip.decompress(response.content))


def test_series_nifti_places_every_voxel_at_its_dicom_position(client, token_for, ct) -> None:
    """For every file: its slice in the NIfTI (found by content), and for each pixel the
    affine's RAS position against ImagePositionPatient + offsets along the cosines (LPS)."""
    r = client.get(f"{API}/series/{ct['series'].series_uid}/export", params={"format": "nifti"},
                   headers=token_for(ct["admin"]))
    image = _nifti(r)
    assert r.headers["content-disposition"].endswith('.nii.gz"')
    data = np.asanyarray(image.dataobj)
    assert data.shape == (SHAPE[2], SHAPE[1], SHAPE[0])
    rows, cols = (g.ravel() for g in np.meshgrid(np.arange(SHAPE[1]), np.arange(SHAPE[2]),
                                                 indexing="ij"))
    found = set()
    for path in ct["paths"]:
        ds = pydicom.dcmread(path)
        hu = np.frombuffer(ds.PixelData, "<u2").reshape(SHAPE[1:]).astype(np.int32) + RESCALE_INTERCEPT
        [k] = [k for k in range(SHAPE[0]) if np.array_equal(data[:, :, k].T, hu)]
        found.add(k)
        position = np.array([float(v) for v in ds.ImagePositionPatient])
        cosines = np.array([float(v) for v in ds.ImageOrientationPatient])
        dy, dx = (float(v) for v in ds.PixelSpacing)
        lps = position + np.outer(cols * dx, cosines[:3]) + np.outer(rows * dy, cosines[3:])
        ras = (image.affine @ np.stack([cols, rows, np.full(cols.size, k), np.ones(cols.size)]))[:3].T
        np.testing.assert_allclose(ras, lps * [-1, -1, 1], atol=1e-4)
    assert found == set(range(SHAPE[0]))


def test_mask_nifti_is_the_saved_mask_on_the_series_grid(client, token_for, ct) -> None:
    headers = token_for(ct["first"])
    image = _nifti(client.get(f"{API}/annotations/{ct['v1'].id}/export", params={"format": "nifti"},
                              headers=headers))
    np.testing.assert_array_equal(np.asanyarray(image.dataobj).transpose(2, 1, 0),
                                  ct["masks"][0].astype(np.uint8))
    assert image.header.get_intent()[0] == "label"
    series = _nifti(client.get(f"{API}/series/{ct['series'].series_uid}/export",
                               headers=token_for(ct["admin"])))
    np.testing.assert_allclose(image.affine, series.affine)


def test_exports_follow_the_read_rules(client, token_for, ct, make_user) -> None:
    outsider = make_user("annotator")
    for who, path in [(outsider, f"/annotations/{ct['v1'].id}/export?format=nifti"),
                      (ct["second"], f"/annotations/{ct['v1'].id}/export?format=nifti"),  # not theirs
                      (outsider, f"/series/{ct['series'].series_uid}/export?format=nifti")]:
        r = client.get(API + path, headers=token_for(who))
        assert r.status_code == 403, (path, r.text)
    r = client.get(f"{API}/series/{ct['series'].series_uid}/export",
                   headers=token_for(ct["first"]))  # their task holds the image
    assert r.status_code == 200
    assert client.get(f"{API}/annotations/999999/export?format=nifti",
                      headers=token_for(ct["admin"])).status_code == 404


def test_png_masks_for_a_cine_and_a_refusal_for_a_volume(session, client, token_for, ct) -> None:
    cine = _import(session, [Path(get_testdata_file("examples_ybr_color.dcm"))])
    mask = np.zeros((30, 240, 320), bool)
    mask[5:20, 100:140, 60:200] = True
    mask[29, 0, 0] = True
    annotation = _draw(session, ct["admin"], ct["first"], make_assignment(session, cine), mask)
    r = client.get(f"{API}/annotations/{annotation.id}/export", params={"format": "png"},
                   headers=token_for(ct["first"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        names = archive.namelist()
        frames = np.stack([cv2.imdecode(np.frombuffer(archive.read(n), np.uint8),
                                        cv2.IMREAD_UNCHANGED) for n in names])
    assert len(names) == 30 and names[0] == "frame_00000.png"
    np.testing.assert_array_equal(frames, mask.astype(np.uint8) * 255)
    refused = client.get(f"{API}/annotations/{ct['v1'].id}/export", params={"format": "png"},
                         headers=token_for(ct["first"]))
    assert refused.status_code == 422 and "nifti" in refused.json()["detail"]


def test_pair_agreement_over_the_api(session, client, token_for, ct) -> None:
    r = client.get(f"{API}/agreement", params={"a": ct["v1"].id, "b": ct["v2"].id},
                   headers=token_for(ct["admin"]))
    assert r.status_code == 200, r.text
    body = r.json()
    expected = compare(*ct["masks"], SPACING)
    assert set(body) == {"a", "b", "series_uid", "dice", "jaccard", "volume_a_ml", "volume_b_ml",
                         "volume_difference_ml", "hd95_mm", "assd_mm"}
    for key, value in expected.as_dict().items():
        assert body[key] == pytest.approx(value), key
    assert 0.5 < body["dice"] < 1 and body["hd95_mm"] > 0
    assert body["volume_a_ml"] == pytest.approx(ct["masks"][0].sum() * np.prod(SPACING) / 1000)
    assert body["volume_difference_ml"] == pytest.approx(body["volume_b_ml"] - body["volume_a_ml"])
    # the first annotator may not read the second's (submitted, not accepted) work
    refused = client.get(f"{API}/agreement", params={"a": ct["v1"].id, "b": ct["v2"].id},
                         headers=token_for(ct["first"]))
    assert refused.status_code == 403
    same = client.get(f"{API}/agreement", params={"a": ct["v1"].id, "b": ct["v1"].id},
                      headers=token_for(ct["first"])).json()
    assert (same["dice"], same["hd95_mm"], same["assd_mm"]) == (1.0, 0.0, 0.0)


def test_pair_agreement_refuses_two_images_and_unknown_ids(session, client, token_for, ct,
                                                           tmp_path) -> None:
    other = _import(session, write_ct_series(tmp_path / "other", shape=SHAPE, spacing=SPACING,
                                             patient_id="OTHER"))
    elsewhere = _draw(session, ct["admin"], ct["first"], make_assignment(session, other, "Lesion 2"),
                      ct["masks"][0])
    r = client.get(f"{API}/agreement", params={"a": ct["v1"].id, "b": elsewhere.id},
                   headers=token_for(ct["admin"]))
    assert r.status_code == 422 and "different images" in r.json()["detail"]
    with pytest.raises(InvalidInput):
        agreement.pair_agreement(session, actor=ct["admin"], a=elsewhere.id, b=ct["v2"].id)
    with pytest.raises(NotFound):
        agreement.pair_agreement(session, actor=ct["admin"], a=ct["v1"].id, b=999999)
    assert client.get(f"{API}/agreement", params={"a": ct["v1"].id},
                      headers=token_for(ct["admin"])).status_code == 422


def test_label_agreement_over_every_pair_of_versions(session, client, token_for, ct,
                                                     make_user) -> None:
    third = make_user("annotator")
    v3 = _draw(session, ct["admin"], third, ct["assignment"], np.zeros(SHAPE, bool))  # empty
    r = client.get(f"{API}/agreement/labels", headers=token_for(ct["admin"]))
    assert r.status_code == 200, r.text
    [entry] = r.json()
    m1, m2 = ct["masks"]
    pairs = [compare(m1, m2, SPACING), compare(m1, np.zeros(SHAPE, bool), SPACING),
             compare(m2, np.zeros(SHAPE, bool), SPACING)]
    assert (entry["label"], entry["annotations"], entry["images"], entry["pairs"], entry["skipped"]) \
        == ("Lesion", 3, 1, 3, 0)
    dice = [p.dice for p in pairs]
    assert entry["dice"]["mean"] == pytest.approx(np.mean(dice))
    assert entry["dice"]["std"] == pytest.approx(np.std(dice, ddof=1))
    assert (entry["dice"]["min"], entry["dice"]["n"]) == (0.0, 3)
    # with an empty version, only the first pair has surface distances
    assert entry["hd95_mm"]["n"] == 1 and entry["hd95_mm"]["mean"] == pytest.approx(pairs[0].hd95_mm)
    assert entry["volume_difference_ml"]["mean"] == pytest.approx(
        np.mean([p.volume_difference_ml for p in pairs]))  # later version minus earlier
    # an annotator sees agreement only over what they may read: their own version alone
    mine = agreement.label_agreement(session, actor=ct["first"])
    assert [(s.label, s.annotations, s.pairs, s.dice.mean) for s in mine] == [("Lesion", 1, 0, None)]
    label_id = entry["label_id"]
    assert len(agreement.label_agreement(session, actor=ct["admin"], label_id=label_id)) == 1
    with pytest.raises(NotFound):
        agreement.label_agreement(session, actor=ct["admin"], label_id=999999)
    assert v3.version == 3
