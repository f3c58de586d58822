"""DICOM SEG out of LabelStack and back in, over the services and the API, on real imported
images: the download, storing into the image's store (indexed as a derived series), the
import of a SEG as first versions, and every refusal changing nothing."""

from __future__ import annotations

import io
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from sqlmodel import Session, func, select

from labelstack.annotation.seg import color_to_lab, read_segments
from labelstack.config import Settings
from labelstack.db.enums import AnnotationStatus, AuditAction
from labelstack.db.models import (
    Annotation,
    AnnotationRevision,
    AuditEvent,
    Label,
    LabelAssignment,
    Series,
)
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelstack.services.exports import seg
from labelstack.services.images import index, runtime, view
from labelstack.services.images.shape import instance_keys
from labelstack.stores import LocalStore, StoreError
from tests.dicom3tools import dciodvfy_errors
from tests.integration.exports.seg_helpers import (
    OBLIQUE,
    accept,
    assign,
    ball,
    by_source_instance,
    draw,
    import_image,
    source_datasets,
)
from tests.integration.workflow.annotation_helpers import annotation_task

API = "/api/v1"
SHAPE = (7, 26, 22)
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@pytest.fixture
def people(make_user):  # noqa: ANN001, ANN201
    return dict(admin=make_user("admin"), ann=make_user("annotator"), rev=make_user("reviewer"))


def _ct(session: Session, tmp_path: Path, orientation=AXIAL, name: str = "ct") -> Series:  # noqa: ANN001
    return import_image(session, write_ct_series(tmp_path / name, shape=SHAPE, orientation=orientation,
                                                 origin=(-40.0, 25.5, 310.0), shuffle=True,
                                                 patient_id=f"SEG-{name}"))


@pytest.fixture
def work(session: Session, people, tmp_path: Path, settings: Settings):  # noqa: ANN001, ANN201
    """A shuffled CT with two overlapping labels, both accepted."""
    series = _ct(session, tmp_path)
    lung = assign(session, series, "Lung", "#33cc66", "left lung, manual")
    tumour = assign(session, series, "Tumour", "#ff8800")
    masks = {lung.id: ball(SHAPE, (3, 12, 10), 5.5), tumour.id: ball(SHAPE, (4, 14, 12), 3.5)}
    assert (masks[lung.id] & masks[tumour.id]).any()
    drawn = draw(session, people["admin"], people["ann"], masks)
    accept(session, people["admin"], people["rev"], drawn)
    return dict(series=series, lung=drawn[0], tumour=drawn[1],
                masks=[masks[a.label_assignment_id] for a in drawn], **people)


def _seg(response) -> hd.seg.Segmentation:  # noqa: ANN001
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/dicom"
    assert dciodvfy_errors(response.content) == []
    return hd.seg.segread(io.BytesIO(response.content))


@pytest.mark.parametrize("orientation", [AXIAL, OBLIQUE], ids=["axial", "oblique"])
def test_seg_download_round_trip(session: Session, people, tmp_path: Path, settings: Settings,
                                 client: TestClient, token_for, orientation) -> None:  # noqa: ANN001
    series = _ct(session, tmp_path, orientation)
    pair = assign(session, series, "Lesion", "#3366ff", "the lesion")
    mask = ball(SHAPE, (3, 11, 9), 4.5)
    (annotation,) = draw(session, people["admin"], people["ann"], {pair.id: mask})
    accept(session, people["admin"], people["rev"], [annotation])
    r = client.get(f"{API}/annotations/{annotation.id}/export", params={"format": "seg"},
                   headers=token_for(people["admin"]))
    back = _seg(r)
    sources = source_datasets(session, series)
    assert np.array_equal(by_source_instance(back, sources, 1), mask)
    assert back.NumberOfFrames == int(mask.any(axis=(1, 2)).sum())  # empty slices left out
    item = back.SegmentSequence[0]
    assert (item.SegmentLabel, item.SegmentDescription, item.SegmentAlgorithmType) == (
        "Lesion", "the lesion", "MANUAL")
    assert tuple(item.RecommendedDisplayCIELabValue) == color_to_lab("#3366ff").value
    assert str(back.ContentCreatorName) == people["ann"].display_name
    assert back.SeriesDescription == f"Lesion v1 · accepted by {people['rev'].display_name}"[:64]
    assert back.ReferencedSeriesSequence[0].SeriesInstanceUID == series.series_uid
    (segment,) = read_segments(back, sources)
    assert np.array_equal(segment.mask, mask)
    # the same content is the same SEG
    again = client.get(f"{API}/annotations/{annotation.id}/export", params={"format": "seg"},
                       headers=token_for(people["admin"]))
    assert hd.seg.segread(io.BytesIO(again.content)).SOPInstanceUID == back.SOPInstanceUID


def test_overlapping_labels_in_one_seg(session: Session, work, client: TestClient,
                                       token_for) -> None:  # noqa: ANN001
    r = client.get(f"{API}/seg", params={"annotation_id": [work["lung"].id, work["tumour"].id]},
                   headers=token_for(work["admin"]))
    back = _seg(r)
    assert [s.SegmentLabel for s in back.SegmentSequence] == ["Lung", "Tumour"]
    sources = source_datasets(session, work["series"])
    for number, mask in enumerate(work["masks"], 1):
        assert np.array_equal(by_source_instance(back, sources, number), mask)
    assert "Lung v1" in back.SeriesDescription and "Tumour v1" in back.SeriesDescription


def test_single_radiograph_round_trip(session: Session, people, tmp_path: Path, settings: Settings,
                                      client: TestClient, token_for) -> None:  # noqa: ANN001
    series = import_image(session, [Path(get_testdata_file("RG3_UNCR.dcm", download=False))])
    shape = (1, series.rows, series.columns)
    mask = np.zeros(shape, bool)
    mask[0, 400:1100, 300:900] = True
    pair = assign(session, series, "Heart", "#aa0000")
    (annotation,) = draw(session, people["admin"], people["ann"], {pair.id: mask})
    back = _seg(client.get(f"{API}/annotations/{annotation.id}/export", params={"format": "seg"},
                           headers=token_for(people["ann"])))  # the author may export a draft
    sources = source_datasets(session, series)
    assert np.array_equal(by_source_instance(back, sources, 1), mask)
    assert "not reviewed" in back.SeriesDescription


def test_export_refusals(session: Session, work, people, tmp_path: Path, client: TestClient,
                         token_for, make_user) -> None:  # noqa: ANN001
    outsider = make_user("annotator")
    ids = [work["lung"].id]
    # accepted work is readable by all, but its image (and patient) only by admins and assignees
    r = client.get(f"{API}/seg", params={"annotation_id": ids}, headers=token_for(outsider))
    assert r.status_code == 403 and "not part of any of your tasks" in r.json()["detail"]
    with pytest.raises(Forbidden):
        seg.store_seg(session, actor=work["rev"], annotation_ids=ids)
    other = _ct(session, tmp_path, name="other")
    pair = assign(session, other, "Lung")
    (elsewhere,) = draw(session, work["admin"], work["ann"], {pair.id: ball(SHAPE, (2, 5, 5), 2)})
    with pytest.raises(InvalidInput, match="one SEG holds one image"):
        seg.export_segs(session, actor=work["admin"], annotation_ids=[work["lung"].id, elsewhere.id])
    (second,) = draw(session, work["admin"], work["ann"], {work["lung"].label_assignment_id:
                                                          ball(SHAPE, (3, 9, 9), 3)})
    r = client.get(f"{API}/seg", params={"annotation_id": [work["lung"].id, second.id]},
                   headers=token_for(work["admin"]))
    assert r.status_code == 422 and "one segment per label" in r.json()["detail"]
    empty = assign(session, other, "Nothing yet")
    task = annotation_task(session, work["admin"], work["ann"], [empty])
    unsaved = session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    with pytest.raises(Conflict, match="nothing saved yet"):
        seg.export_seg(session, actor=work["admin"], annotation_id=unsaved.id)
    assert client.get(f"{API}/seg", params={"annotation_id": [999999]},
                      headers=token_for(work["admin"])).status_code == 404


def test_store_in_the_local_store_indexes_a_derived_series(session: Session, work,
                                                           client: TestClient, token_for) -> None:  # noqa: ANN001
    ids = [work["lung"].id, work["tumour"].id]
    r = client.post(f"{API}/seg/store", json={"annotation_ids": ids}, headers=token_for(work["admin"]))
    assert r.status_code == 200, r.text
    stored = r.json()
    assert (stored["status"], stored["store"]) == ("stored", "local")
    derived = session.get(Series, stored["series_id"])
    assert derived.modality == "SEG" and derived.study_id == work["series"].study_id
    assert derived.number_of_instances == 1
    # the index still searches as before; the SEG is found by its modality
    page = index.search_series(session)
    assert {row.series_uid for row in page.items} == {work["series"].series_uid, derived.series_uid}
    assert [row.series_uid for row in index.search_series(session, modality="seg").items] == [
        derived.series_uid]
    assert [row.series_uid for row in index.search_series(session, modality="CT").items] == [
        work["series"].series_uid]
    again = client.post(f"{API}/seg/store", json={"annotation_ids": ids},
                        headers=token_for(work["admin"]))
    assert again.json()["status"] == "present"
    events = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.seg_store)).all()
    assert len(events) == 1 and events[0].details["outcome"] == "stored"
    assert events[0].details["annotation_ids"] == ids
    (key,) = instance_keys(session, derived.id)
    (ds,) = LocalStore(runtime.current_settings().data_dir / "dicom").read([key])
    assert ds.SOPInstanceUID == stored["sop_instance_uid"] and ds.Modality == "SEG"
    # nothing breaks if someone opens it: the viewer decodes the frames as 0/1 planes
    volume = view.load_volume(session, derived.series_uid)
    assert volume.pixels.max() == 1 and volume.pixels.min() == 0


def test_a_store_that_refuses_changes_nothing_but_the_audit(session: Session, work,
                                                           monkeypatch) -> None:  # noqa: ANN001
    class Refusing(LocalStore):
        def put(self, ds, raw):  # noqa: ANN001, ANN201
            raise StoreError("http://pacs refused the instance (STOW-RS failure reason 0xA700)")

    root = runtime.current_settings().data_dir / "dicom"
    monkeypatch.setattr(runtime, "store", lambda name=None: Refusing(root))
    with pytest.raises(Conflict, match="did not take the SEG: .*refused"):
        seg.store_seg(session, actor=work["admin"], annotation_ids=[work["lung"].id])
    assert session.exec(select(Series).where(Series.modality == "SEG")).all() == []
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.seg_store)).all()
    assert event.details["outcome"] == "failed" and "0xA700" in event.details["reason"]


def _counts(session: Session) -> tuple[int, int, int, int]:
    return tuple(session.exec(select(func.count()).select_from(m)).one()
                 for m in (Label, LabelAssignment, Annotation, AnnotationRevision))


def test_seg_import_makes_first_versions(session: Session, work, client: TestClient,
                                         token_for) -> None:  # noqa: ANN001
    admin = work["admin"]
    data = seg.export_segs(session, actor=admin,
                           annotation_ids=[work["lung"].id, work["tumour"].id]).data
    before = _counts(session)
    # both labels already have versions on this image: a first version only
    r = client.post(f"{API}/seg/import", content=data, headers={**token_for(admin),
                                                                "content-type": "application/dicom"})
    assert r.status_code == 409 and "already have annotations" in r.json()["detail"]
    for annotation in (work["lung"], work["tumour"]):
        label = session.get(Label, session.get(LabelAssignment,
                                               annotation.label_assignment_id).label_id)
        label.name = f"{label.name} (manual)"
        session.add(label)
    session.commit()
    r = client.post(f"{API}/seg/import", content=data, headers={**token_for(admin),
                                                                "content-type": "application/dicom"})
    assert r.status_code == 422 and "no label named 'Lung', 'Tumour'" in r.json()["detail"]
    assert _counts(session) == before
    r = client.post(f"{API}/seg/import", params={"create_labels": True},
                    files={"file": ("seg.dcm", data, "application/dicom")}, headers=token_for(admin))
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["series_uid"] == work["series"].series_uid
    assert [s["label"] for s in report["segments"]] == ["Lung", "Tumour"]
    assert all(s["label_created"] for s in report["segments"])
    for segment, mask in zip(report["segments"], work["masks"], strict=True):
        annotation = session.get(Annotation, segment["annotation_id"])
        assert (annotation.version, annotation.status) == (1, AnnotationStatus.submitted)
        assert annotation.author_id == admin.id and annotation.task_id is None
        saved = reads.revision_mask(session, actor=admin, annotation_id=annotation.id, sequence=1)
        assert np.array_equal(saved, mask)
        assert segment["voxels"] == int(mask.sum())
    lung = session.exec(select(Label).where(Label.name == "Lung")).one()
    assert _near(lung.color, "#33cc66")
    assert lung.description == "left lung, manual"
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.seg_import)).all()
    assert event.details["source"] == "upload" and len(event.details["segments"]) == 2
    # imported work awaits review like any other
    assert {s.id for s in reads.awaiting_review(session, actor=admin)} >= {
        s["annotation_id"] for s in report["segments"]}


def test_seg_import_refusals_change_nothing(session: Session, work, tmp_path: Path,
                                            client: TestClient, token_for) -> None:  # noqa: ANN001
    admin = work["admin"]
    data = seg.export_segs(session, actor=admin, annotation_ids=[work["lung"].id]).data
    other = _ct(session, tmp_path, name="other")  # another series, another frame of reference
    before = _counts(session)
    headers = {**token_for(admin), "content-type": "application/dicom"}
    r = client.post(f"{API}/seg/import", params={"series_uid": other.series_uid,
                                                 "create_labels": True},
                    content=data, headers=headers)
    assert r.status_code == 422 and "frame of reference" in r.json()["detail"]
    with pytest.raises(InvalidInput, match="corrupt|not a DICOM"):
        seg.import_seg(session, actor=admin, data=data[:2000], create_labels=True)
    r = client.post(f"{API}/seg/import", content=b"hello", headers=headers)
    assert r.status_code == 422 and "not a DICOM file" in r.json()["detail"]
    ct_file = next((tmp_path / "other").glob("*.dcm")).read_bytes()
    r = client.post(f"{API}/seg/import", content=ct_file, headers=headers)
    assert r.status_code == 422 and "not a DICOM SEG: this file is CT Image Storage" in r.json()["detail"]
    parsed = hd.seg.segread(io.BytesIO(data))
    parsed.ReferencedSeriesSequence[0].SeriesInstanceUID = "1.2.3.999"
    buffer = io.BytesIO()
    parsed.save_as(buffer)
    with pytest.raises(NotFound, match="not in the index"):
        seg.import_seg(session, actor=admin, data=buffer.getvalue())
    r = client.post(f"{API}/seg/import", content=data, headers=token_for(work["rev"]))
    assert r.status_code == 403
    assert _counts(session) == before
    assert session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.seg_import)).all() == []


def test_import_from_the_store(session: Session, work) -> None:
    admin = work["admin"]
    stored = seg.store_seg(session, actor=admin, annotation_ids=[work["tumour"].id])
    label = session.exec(select(Label).where(Label.name == "Tumour")).one()
    label.name = "Tumour (manual)"
    session.add(label)
    session.commit()
    report = seg.import_stored_seg(session, actor=admin, seg_series_uid=stored.series_uid,
                                   create_labels=True)
    (segment,) = report.segments
    saved = reads.revision_mask(session, actor=admin, annotation_id=segment.annotation_id, sequence=1)
    assert np.array_equal(saved, work["masks"][1])
    with pytest.raises(InvalidInput, match="not a DICOM SEG"):
        seg.import_stored_seg(session, actor=admin, seg_series_uid=work["series"].series_uid)


def _near(a: str, b: str) -> bool:
    return all(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) <= 2 for i in (1, 3, 5))
