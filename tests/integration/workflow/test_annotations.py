"""Annotations: creation with their task, saving revisions, masks, read access, comments."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.db.enums import AnnotationStatus, TaskStatus, TaskType
from labelstack.db.models import Annotation, AnnotationRevision, Series, Study, Task, TaskItem
from labelstack.services.annotations import history, revisions, versions
from labelstack.services.annotations import reads as annotations
from labelstack.services.annotations.revisions import MAX_SECONDS_PER_SAVE
from labelstack.services.errors import Conflict, Forbidden, InvalidInput
from labelstack.services.workflow import edits as task_edits
from labelstack.services.workflow import transitions
from labelstack.services.workflow.edits import TaskUpdate
from labelstack.services.workflow.transitions import TaskCreate
from tests.integration.workflow.annotation_helpers import (
    SHAPE,
    annotation_task,
    blob,
    make_assignment,
    make_series,
    npy,
)


@pytest.fixture
def team(make_user):
    return make_user("admin"), make_user("annotator"), make_user("annotator")


def _only(session: Session, task: Task) -> Annotation:
    return session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()


def test_starting_a_task_creates_one_draft_per_assignment_idempotently(session, team) -> None:
    admin, ann, _ = team
    series = make_series(session)
    pair = [make_assignment(session, series), make_assignment(session, series)]
    task = annotation_task(session, admin, ann, pair)
    found = session.exec(select(Annotation).where(Annotation.task_id == task.id)).all()
    assert sorted(a.label_assignment_id for a in found) == sorted(a.id for a in pair)
    assert {(a.version, a.author_id, a.status) for a in found} == {(1, ann.id, "draft")}
    assert versions.create_annotations_for_task(session, task=task, actor=ann) == []
    assert len(versions.unsaved_annotations(session, task=task)) == 2


def test_image_items_expand_to_the_labels_of_the_image(session, team) -> None:
    admin, ann, _ = team
    series = make_series(session)
    first, second = make_assignment(session, series), make_assignment(session, series)
    task = Task(type="annotation", name="by image", status="in_progress", assignee_id=ann.id)
    session.add(task)
    session.flush()
    session.add(TaskItem(task_id=task.id, position=0, series_id=series.id))
    created = versions.create_annotations_for_task(session, task=task, actor=admin)
    assert [a.label_assignment_id for a in created] == [first.id, second.id]


def test_save_adds_revisions_and_skips_unchanged_content(session, team) -> None:
    admin, ann, _ = team
    task = annotation_task(session, admin, ann, [make_assignment(session)])
    target = _only(session, task)
    first = revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(),
                                time_spent=12.5)
    assert first.saved and first.revision.sequence == 1 and first.revision.author_id == ann.id
    assert first.annotation.status == AnnotationStatus.draft  # submitted when the task finishes
    assert first.annotation.row_version == 2
    same = revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(),
                               time_spent=3)
    assert (same.saved, same.reason, same.revision.sequence) == (False, "unchanged", 1)
    second = revisions.save_mask(session, actor=ann, annotation_id=target.id,
                                 mask=blob(size=3), time_spent=7.5)
    assert second.revision.sequence == 2
    assert second.revision.content_hash != first.revision.content_hash
    session.refresh(task)
    assert task.time_spent == pytest.approx(20.0)
    item = session.exec(select(TaskItem).where(TaskItem.task_id == task.id)).one()
    assert item.done
    assert versions.unsaved_annotations(session, task=task) == []
    stored = annotations.revision_mask(session, actor=ann, annotation_id=target.id, sequence=2)
    assert np.array_equal(stored, blob(size=3))


@pytest.mark.parametrize("seconds,expected", [(0, 0.0), (90.5, 90.5),
                                              (10**9, MAX_SECONDS_PER_SAVE)])
def test_time_spent_is_capped(session, team, seconds: float, expected: float) -> None:
    admin, ann, _ = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    result = revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(),
                                 time_spent=seconds)
    assert result.revision.time_spent == expected


@pytest.mark.parametrize("seconds", [-1, math.nan, math.inf])
def test_time_spent_must_be_finite_and_not_negative(session, team, seconds: float) -> None:
    admin, ann, _ = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    with pytest.raises(InvalidInput, match="time_spent"):
        revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(),
                            time_spent=seconds)


def test_only_the_author_inside_the_running_task_saves(session, team) -> None:
    admin, ann, other = team
    task = annotation_task(session, admin, ann, [make_assignment(session)])
    target = _only(session, task)
    for intruder in (admin, other):
        with pytest.raises(Forbidden, match="author"):
            revisions.save_mask(session, actor=intruder, annotation_id=target.id, mask=blob())
    revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob())
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    with pytest.raises(Conflict, match="in-progress task"):
        revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(size=3))
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    with pytest.raises(Conflict, match="in-progress task"):
        revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(size=3))


def test_finishing_needs_every_annotation_saved(client: TestClient, session, team,
                                                token_for) -> None:
    admin, ann, _ = team
    study = Study(study_uid="1.2.840.99", patient_id="DEMO-CT-01", study_description="Chest")
    session.add(study)
    session.flush()
    series = Series(series_uid="1.2.840.99.1", study_id=study.id, modality="CT",
                    number_of_instances=SHAPE[0], rows=SHAPE[1], columns=SHAPE[2])
    session.add(series)
    session.commit()
    lung, heart = make_assignment(session, series, "Lung"), make_assignment(session, series,
                                                                            "Heart")
    task = annotation_task(session, admin, ann, [lung, heart])
    first, second = session.exec(select(Annotation).where(Annotation.task_id == task.id)
                                 .order_by(Annotation.id)).all()
    url = f"/api/v1/tasks/{task.id}/status"
    r = client.post(url, json={"status": "done"}, headers=token_for(ann))
    assert r.status_code == 409 and r.json()["annotation_ids"] == [first.id, second.id]
    assert r.json()["detail"].endswith(
        "not saved yet: Lung on CT · Chest · DEMO-CT-01; Heart on CT · Chest · DEMO-CT-01")
    revisions.save_mask(session, actor=ann, annotation_id=first.id, mask=blob())
    r = client.post(url, json={"status": "done"}, headers=token_for(ann))
    assert r.status_code == 409 and r.json()["annotation_ids"] == [second.id]
    assert "Heart on CT" in r.json()["detail"] and "Lung" not in r.json()["detail"]


def test_upload_and_download_npy(client: TestClient, session, team, token_for) -> None:
    admin, ann, _ = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    url, headers = f"/api/v1/annotations/{target.id}/revisions", token_for(ann)
    raw = client.post(url, content=npy(blob()), params={"time_spent": 4}, headers=headers)
    assert raw.status_code == 201, raw.text
    assert raw.json()["saved"] is True and raw.json()["revision"]["shape"] == list(SHAPE)
    same = client.post(url, content=npy(blob().astype(np.uint8)), headers=headers)
    assert same.status_code == 200 and same.json()["saved"] is False
    assert same.json()["reason"] == "unchanged"
    multipart = client.post(url, files={"file": ("m.npy", npy(blob(size=4)))},
                            data={"time_spent": "6"}, headers=headers)
    assert multipart.status_code == 201
    assert multipart.json()["revision"]["time_spent"] == 6.0
    listed = client.get(url, headers=headers).json()
    assert [(r["sequence"], r["time_spent"]) for r in listed] == [(1, 4.0), (2, 6.0)]
    mask = client.get(f"{url}/2/mask", headers=headers)
    assert mask.headers["content-type"] == "application/octet-stream"
    assert np.array_equal(np.load(io.BytesIO(mask.content)), blob(size=4))
    assert client.get(f"{url}/3/mask", headers=headers).status_code == 404


def test_uploads_larger_than_any_mask_get_413_before_parsing(client: TestClient, session, team,
                                                             token_for) -> None:
    admin, ann, _ = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    url, headers = f"/api/v1/annotations/{target.id}/revisions", token_for(ann)
    limit = math.prod(SHAPE) + revisions.UPLOAD_ALLOWANCE
    too_big = b"\0" * (limit + 1)

    def chunked():  # no Content-Length: the size is counted as the body arrives
        yield too_big[:1000]
        yield too_big[1000:]

    for kwargs in ({"content": too_big}, {"content": chunked()},
                   {"files": {"file": ("m.npy", too_big)}}):
        r = client.post(url, headers=headers, **kwargs)
        assert r.status_code == 413, r.text
        assert "z·y·x" in r.json()["detail"] and r.json()["limit"] == limit
    at_limit = client.post(url, content=too_big[:limit], headers=headers)  # read, then parsed
    assert at_limit.status_code == 422 and "not a readable .npy" in at_limit.json()["detail"]
    assert session.exec(select(AnnotationRevision)).all() == []
    stranger = token_for(team[2])
    assert client.post(url, content=too_big, headers=stranger).status_code == 403


@pytest.mark.parametrize("body,message", [
    pytest.param(npy(np.zeros((3, 8, 9), dtype=bool)), "does not match", id="shape"),
    pytest.param(npy(np.zeros((8, 10), dtype=bool)), "does not match", id="2d"),
    pytest.param(npy(np.zeros(SHAPE, dtype=np.float32)), "dtype", id="float"),
    pytest.param(b"\x93NUMPY garbage", "not a readable .npy", id="garbage"),
    pytest.param(b"", "not a readable .npy", id="empty"),
])
def test_bad_uploads_get_422_with_a_clear_message(client: TestClient, session, team, token_for,
                                                  body: bytes, message: str) -> None:
    admin, ann, _ = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    r = client.post(f"/api/v1/annotations/{target.id}/revisions", content=body,
                    headers=token_for(ann))
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    if message == "does not match":
        assert r.json()["expected_shape"] == list(SHAPE)


def test_read_access(client: TestClient, session, team, token_for) -> None:
    admin, ann, other = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    url = f"/api/v1/annotations/{target.id}"
    assert client.get(url, headers=token_for(ann)).status_code == 200
    assert client.get(url, headers=token_for(admin)).status_code == 200
    assert client.get(url, headers=token_for(other)).status_code == 403
    assert client.get("/api/v1/annotations", headers=token_for(other)).json() == []
    target.status = AnnotationStatus.accepted
    session.add(target)
    session.commit()
    assert client.get(url, headers=token_for(other)).status_code == 200
    listed = client.get("/api/v1/annotations", params={"task_id": target.task_id},
                        headers=token_for(other)).json()
    assert [a["id"] for a in listed] == [target.id]
    assert client.get("/api/v1/annotations/999999", headers=token_for(admin)).status_code == 404


def test_comments_pinned_and_guarded(client: TestClient, session, team, token_for) -> None:
    admin, ann, other = team
    target = _only(session, annotation_task(session, admin, ann, [make_assignment(session)]))
    url = f"/api/v1/annotations/{target.id}/comments"
    pinned = {"text": "edge leaks here", "plane": "axial", "slice_index": 2, "x": 4.5, "y": 3}
    r = client.post(url, json=pinned, headers=token_for(ann))
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in pinned} == {**pinned, "y": 3.0}
    assert client.post(url, json={"text": "fine"}, headers=token_for(admin)).status_code == 201
    for bad in ({"text": "x", "slice_index": 2}, {"text": "x", "plane": "axial", "x": 1, "y": 1},
                {"text": "   "}, {"text": "x", "plane": "oblique"}):
        assert client.post(url, json=bad, headers=token_for(ann)).status_code == 422, bad
    assert client.post(url, json={"text": "hi"}, headers=token_for(other)).status_code == 403
    assert client.get(url, headers=token_for(other)).status_code == 403
    texts = [c["text"] for c in client.get(url, headers=token_for(ann)).json()]
    assert texts == ["edge leaks here", "fine"]


def test_a_cancelled_task_given_to_someone_else_can_be_finished_by_them(session, team) -> None:
    """The old assignee's drafts stay in history; the new one gets versions of their own."""
    admin, first, second = team
    series = make_series(session)
    pair = [make_assignment(session, series), make_assignment(session, series)]
    task = annotation_task(session, admin, first, pair)
    kept, dropped = session.exec(select(Annotation).where(Annotation.task_id == task.id)
                                 .order_by(Annotation.label_assignment_id)).all()
    revisions.save_mask(session, actor=first, annotation_id=kept.id, mask=blob())
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    task_edits.update_task(session, actor=admin, task_id=task.id,
                           data=TaskUpdate(assignee_id=second.id))
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    transitions.set_status(session, actor=second, task_id=task.id, status=TaskStatus.in_progress)
    mine = annotations.list_annotations(session, actor=second, task_id=task.id)
    assert [(a.label_assignment_id, a.version, a.author_id, a.status) for a in mine] == [
        (dropped.label_assignment_id, 2, second.id, "draft")]
    with pytest.raises(Conflict) as refused:
        transitions.set_status(session, actor=second, task_id=task.id, status=TaskStatus.done)
    assert refused.value.extra["annotation_ids"] == [mine[0].id]
    (summary,) = annotations.describe(session, actor=admin, annotation_ids=[mine[0].id])
    assert refused.value.detail.endswith(f"not saved yet: {summary.title}")
    with pytest.raises(Forbidden):
        revisions.save_mask(session, actor=second, annotation_id=dropped.id, mask=blob())
    revisions.save_mask(session, actor=second, annotation_id=mine[0].id, mask=blob())
    transitions.set_status(session, actor=second, task_id=task.id, status=TaskStatus.done)
    session.refresh(dropped)
    assert (dropped.status, dropped.author_id, dropped.version) == ("draft", first.id, 1)


def test_the_unsaved_list_names_work_the_finisher_cannot_read(session, team) -> None:
    admin, ann, _ = team
    task = annotation_task(session, admin, ann, [make_assignment(session, name="Liver")])
    draft = _only(session, task)
    draft.author_id = admin.id  # someone else's draft in the task, as before reassignment fixes
    session.add(draft)
    session.commit()
    with pytest.raises(Conflict, match="not saved yet: Liver on CT"):
        transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)


def test_revision_and_history_reads_leave_the_masks_in_the_database(session, team) -> None:
    admin, ann, _ = team
    task = annotation_task(session, admin, ann, [make_assignment(session)])
    draft = _only(session, task)
    revisions.save_mask(session, actor=ann, annotation_id=draft.id, mask=blob())
    revisions.save_mask(session, actor=ann, annotation_id=draft.id, mask=blob(size=3))
    session.expunge_all()
    listed = annotations.list_revisions(session, actor=ann, annotation_id=draft.id)
    (version,) = history.history(session, actor=ann,
                                 label_assignment_id=draft.label_assignment_id)
    for found in (listed, version.revisions):
        assert [r.sequence for r in found] == [1, 2]
        assert all("mask" in sa.inspect(r).unloaded for r in found)
        assert all(r.content_hash and r.shape for r in found)


def test_saved_work_stays_with_its_author_until_the_task_finishes(session, team, make_user) -> None:
    """A save inside the task used to submit the annotation, so an admin could put it into
    a review task mid-work and lock the annotator out."""
    admin, ann, _ = team
    task = annotation_task(session, admin, ann, [make_assignment(session)])
    target = _only(session, task)
    revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob())
    assert annotations.awaiting_review(session, actor=admin) == []
    with pytest.raises(Conflict, match="awaiting review"):
        transitions.create_task(session, actor=admin, data=TaskCreate(
            type=TaskType.review, name="too early", annotation_ids=[target.id]))
    revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(size=3))
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    session.refresh(target)
    assert target.status == AnnotationStatus.submitted
    assert [s.id for s in annotations.awaiting_review(session, actor=admin)] == [target.id]
