"""Against a real Orthanc: a SEG stored over STOW-RS is listed there (QIDO-RS), retrievable
over WADO-RS with the same masks, indexed as a derived series, survives a sync, and imports
back as the same masks; a PACS that is down is a clear refusal that changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import highdicom as hd
import httpx
import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db.enums import AuditAction
from labelstack.db.models import AuditEvent, Label, Series
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.annotations import reads
from labelstack.services.errors import Conflict
from labelstack.services.exports import seg
from labelstack.services.images import catalog, index
from labelstack.services.images import runtime as image_runtime
from labelstack.stores import DicomWebStore
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
from tests.orthanc import Orthanc, free_port

pytestmark = pytest.mark.orthanc
SHAPE = (6, 24, 20)


@pytest.fixture
def pacs_work(session: Session, make_user, tmp_path: Path, dicomweb_settings: Settings):  # noqa: ANN001, ANN201
    admin, ann, rev = make_user("admin"), make_user("annotator"), make_user("reviewer")
    series = import_image(session, write_ct_series(tmp_path / "ct", shape=SHAPE, orientation=OBLIQUE,
                                                   shuffle=True, patient_id="PACS-SEG"))
    assert series.store == "dicomweb"
    lung, lesion = assign(session, series, "Lung", "#22aa44"), assign(session, series, "Lesion", "#ee2200")
    masks = {lung.id: ball(SHAPE, (2, 11, 9), 5), lesion.id: ball(SHAPE, (3, 12, 10), 3)}
    drawn = draw(session, admin, ann, masks)
    accept(session, admin, rev, drawn)
    return dict(admin=admin, series=series, annotations=drawn,
                masks=[masks[a.label_assignment_id] for a in drawn])


def test_seg_goes_to_orthanc_and_comes_back(session: Session, pacs_work, orthanc: Orthanc,
                                            dicomweb_settings: Settings) -> None:
    admin, series = pacs_work["admin"], pacs_work["series"]
    ids = [a.id for a in pacs_work["annotations"]]
    stored = seg.store_seg(session, actor=admin, annotation_ids=ids)
    assert (stored.status, stored.store) == ("stored", "dicomweb")
    study_uid = str(source_datasets(session, series)[0].StudyInstanceUID)
    # listed by Orthanc (QIDO-RS), as a SEG series of the image's study
    found = httpx.get(f"{orthanc.dicomweb_url}/studies/{study_uid}/series",
                      params={"Modality": "SEG"}).json()
    assert [item["0020000E"]["Value"][0] for item in found] == [stored.series_uid]
    # retrievable over WADO-RS, and the same masks on the same source instances
    client = DICOMwebClient(orthanc.dicomweb_url)
    ds = client.retrieve_instance(study_uid, stored.series_uid, stored.sop_instance_uid,
                                  media_types=(("application/dicom", "*"),))
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    assert dciodvfy_errors(buffer.getvalue()) == []
    back = hd.seg.segread(io.BytesIO(buffer.getvalue()))
    sources = source_datasets(session, series)
    for number, mask in enumerate(pacs_work["masks"], 1):
        assert np.array_equal(by_source_instance(back, sources, number), mask)
    # indexed as a derived series of the image; a full sync keeps it and search still works
    derived = session.get(Series, stored.series_id)
    assert (derived.modality, derived.store, derived.study_id) == ("SEG", "dicomweb", series.study_id)
    report = catalog.sync_from_dicomweb(session, actor=admin, full=True)
    assert report.removed == [] and report.skipped == []
    assert {r.series_uid for r in index.search_series(session).items} == {series.series_uid,
                                                                          stored.series_uid}
    assert seg.store_seg(session, actor=admin, annotation_ids=ids).status == "present"
    # importing it back from the store gives the same masks
    for label in session.exec(select(Label)).all():
        label.name = f"{label.name} (manual)"
        session.add(label)
    session.commit()
    imported = seg.import_stored_seg(session, actor=admin, seg_series_uid=stored.series_uid,
                                     create_labels=True)
    assert [s.label for s in imported.segments] == ["Lung", "Lesion"]
    for segment, mask in zip(imported.segments, pacs_work["masks"], strict=True):
        saved = reads.revision_mask(session, actor=admin, annotation_id=segment.annotation_id,
                                    sequence=1)
        assert np.array_equal(saved, mask)
    actions = [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.action.in_([AuditAction.seg_store, AuditAction.seg_import]))
        .order_by(AuditEvent.id)).all()]
    assert actions == [AuditAction.seg_store, AuditAction.seg_import]


def test_a_pacs_that_goes_down_is_a_clear_refusal(session: Session, pacs_work, orthanc: Orthanc,
                                                 dicomweb_settings: Settings, monkeypatch) -> None:  # noqa: ANN001
    """The image's headers come from Orthanc; the STOW-RS goes to a port nobody listens on."""
    dead = DicomWebStore(f"http://127.0.0.1:{free_port()}/dicom-web", timeout=5)
    dead.client.set_http_retry_params(retry=False)

    class GoesDown(DicomWebStore):
        def put(self, ds, raw):  # noqa: ANN001, ANN201
            return dead.put(ds, raw)

    monkeypatch.setattr(image_runtime, "store", lambda name=None: GoesDown(orthanc.dicomweb_url))
    with pytest.raises(Conflict, match=r"did not take the SEG: STOW-RS to .* failed: ConnectionError"):
        seg.store_seg(session, actor=pacs_work["admin"],
                      annotation_ids=[pacs_work["annotations"][0].id])
    assert session.exec(select(Series).where(Series.modality == "SEG")).all() == []
    assert len(httpx.get(f"{orthanc.url}/series").json()) == 1  # only the image
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.seg_store)).all()
    assert event.details["outcome"] == "failed" and "ConnectionError" in event.details["reason"]
