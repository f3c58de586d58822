"""The editor's saving rules: every acknowledged change is durable, one editor at a time,
and a refused change changes nothing."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.annotation.ops import EditOp
from labelstack.config import Settings
from labelstack.db.enums import AnnotationStatus, TaskStatus
from labelstack.db.models import Annotation, AnnotationEdit, AnnotationLease, AnnotationRevision, Series
from labelstack.db.types import utcnow
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.annotations import editing
from labelstack.services.errors import Conflict, InvalidInput
from labelstack.services.images import importing
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.workflow import transitions
from tests.integration.workflow.annotation_helpers import annotation_task, make_assignment

API = "/api/v1"
SHAPE = (6, 24, 20)


@pytest.fixture
def work(session: Session, make_user, tmp_path: Path, settings: Settings):  # noqa: ANN001, ANN201
    """An annotator in an in-progress task over a real (small, imported) CT series."""
    admin, ann = make_user("admin"), make_user("annotator")
    importing.import_dicom(session, actor=None, sources=sources_from_paths(
        write_ct_series(tmp_path / "ct", shape=SHAPE, patient_id="EDIT")))
    series = session.exec(select(Series)).one()
    task = annotation_task(session, admin, ann, [make_assignment(session, series)])
    target = session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    return admin, ann, task, target


def _brush(index: int = 2, at: tuple[float, float] = (10, 10), erase: bool = False) -> EditOp:
    return EditOp.from_json({"tool": "brush", "mode": "erase" if erase else "draw", "plane": "axial",
                             "index": index, "points": [list(at)], "radius_mm": 2.0})


def test_acknowledged_strokes_survive_a_lost_editor(session, work) -> None:
    """The editor object is dropped without a save (a crash): a new one shows every stroke."""
    _, ann, _, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    assert tab.editable
    change = tab.apply(session, actor=ann, op=_brush())
    assert change.changed
    expected = tab.editor.mask.copy()
    assert session.exec(select(AnnotationEdit)).all()  # durable before the return
    assert session.exec(select(AnnotationRevision)).all() == []
    again = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    assert np.array_equal(again.editor.mask, expected) and expected.any()
    assert np.array_equal(editing.mask_now(session, actor=ann, annotation_id=target.id), expected)


def test_save_folds_the_journal_into_a_revision_and_keeps_the_work_a_draft(session, work) -> None:
    _, ann, task, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    tab.apply(session, actor=ann, op=_brush())
    tab.apply(session, actor=ann, op=_brush(at=(12, 5), erase=True))
    with pytest.raises(Conflict, match="not saved"):
        transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    result = tab.save(session, actor=ann)
    assert result is not None and result.saved and result.revision.sequence == 1
    assert session.exec(select(AnnotationEdit)).all() == []
    assert result.annotation.status == AnnotationStatus.draft
    assert tab.save(session, actor=ann) is None  # nothing new
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    session.refresh(target)
    assert target.status == AnnotationStatus.submitted


def test_undo_and_redo_are_acknowledged_like_strokes(session, work) -> None:
    _, ann, _, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    tab.apply(session, actor=ann, op=_brush())
    tab.undo(session, actor=ann)
    assert not editing.mask_now(session, actor=ann, annotation_id=target.id).any()
    tab.redo(session, actor=ann)
    assert np.array_equal(editing.mask_now(session, actor=ann, annotation_id=target.id),
                          tab.editor.mask)


def test_one_editor_at_a_time_and_a_take_over_makes_the_first_read_only(session, work) -> None:
    _, ann, _, target = work
    first = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    second = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-2")
    assert first.editable and not second.editable and "another tab" in second.reason
    with pytest.raises(Conflict, match="read-only"):
        second.apply(session, actor=ann, op=_brush())
    taken = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-2",
                              take_over=True)
    assert taken.editable
    before = editing.mask_now(session, actor=ann, annotation_id=target.id)
    with pytest.raises(Conflict, match="lost its lease"):
        first.apply(session, actor=ann, op=_brush())
    assert not first.editor.mask.any()  # the refused stroke was taken back in memory too
    assert np.array_equal(editing.mask_now(session, actor=ann, annotation_id=target.id), before)


@pytest.mark.parametrize("bad", [
    {"index": 99}, {"plane": "oblique"}, {"points": [[float("nan"), 1]]}, {"radius_mm": -1},
])
def test_bad_strokes_are_refused_and_change_nothing(session, work, bad) -> None:
    _, ann, _, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    with pytest.raises((InvalidInput, ValueError)):
        op = {"tool": "brush", "mode": "draw", "plane": "axial", "index": 2, "points": [[5, 5]],
              "radius_mm": 2.0, **bad}
        tab.apply(session, actor=ann, op=EditOp.from_json(op))
    assert session.exec(select(AnnotationEdit)).all() == []
    assert not tab.editor.mask.any()


def test_a_closed_task_or_another_user_opens_read_only(session, work, make_user) -> None:
    admin, ann, task, target = work
    viewer = editing.open_edit(session, actor=admin, annotation_id=target.id, holder="admin-tab")
    assert not viewer.editable and "author" in viewer.reason
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    with pytest.raises(Conflict, match="in-progress task"):
        tab.apply(session, actor=ann, op=_brush())
    assert session.exec(select(AnnotationEdit)).all() == []


def test_current_mask_over_the_api(client: TestClient, session, work, token_for, make_user) -> None:
    _, ann, _, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    tab.apply(session, actor=ann, op=_brush())
    r = client.get(f"{API}/annotations/{target.id}/mask", headers=token_for(ann))
    assert r.status_code == 200
    assert np.array_equal(np.load(io.BytesIO(r.content)), tab.editor.mask)
    stranger = make_user("annotator")
    assert client.get(f"{API}/annotations/{target.id}/mask",
                      headers=token_for(stranger)).status_code == 403
    assert client.get(f"{API}/annotations/999999/mask", headers=token_for(ann)).status_code == 404


def _edit(client: TestClient, headers: dict, annotation_id: int, **change) -> object:
    body = {"tool": "brush", "plane": "axial", "index": 2, "points": [[10, 10]], "radius_mm": 2.0,
            **change}
    return client.post(f"{API}/annotations/{annotation_id}/edits", json=body, headers=headers)


@pytest.mark.parametrize("bad, status, says", [
    ({"points": [[-50, -50]]}, 422, "outside the axial slice"),
    ({"index": 99}, 422, "out of range"),
    ({"plane": "oblique"}, 422, "plane"),
    ({"points": [[1, 1]] * 10_001}, 422, "points"),
    ({"tool": "polygon", "points": [[1, 1], [2, 2]], "radius_mm": None}, 422, "points"),
])
def test_bad_edits_over_the_api_are_refused_and_change_nothing(client: TestClient, session, work,
                                                               token_for, bad, status, says) -> None:
    _, ann, _, target = work
    r = _edit(client, token_for(ann), target.id, **bad)
    assert r.status_code == status, r.text
    assert says in r.text
    assert session.exec(select(AnnotationEdit)).all() == []


def test_edits_over_the_api_follow_the_editor_rules(client: TestClient, session, work, token_for,
                                                    make_user) -> None:
    admin, ann, task, target = work
    r = _edit(client, token_for(ann), target.id)
    assert r.status_code == 200 and r.json()["changed"], r.text
    assert editing.mask_now(session, actor=ann, annotation_id=target.id).any()
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="browser-tab")
    assert tab.editable
    busy = _edit(client, token_for(ann), target.id, points=[[15, 15]])
    assert busy.status_code == 409 and "another tab" in busy.json()["detail"]
    tab.close(session)
    other = make_user("annotator")
    assert _edit(client, token_for(other), target.id).status_code == 403
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    closed = _edit(client, token_for(ann), target.id, points=[[15, 15]])
    assert closed.status_code == 409 and "in-progress task" in closed.json()["detail"]


def test_active_time_counts_interaction_and_not_the_pauses(session, work) -> None:
    """Gaps under IDLE_AFTER_SECONDS between interactions are work; a long pause is not. The
    seconds land in the revision and the task's time spent."""
    _, ann, task, target = work
    now = [1000.0]
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1",
                            clock=lambda: now[0])
    tab.apply(session, actor=ann, op=_brush())       # first interaction: nothing before it
    now[0] += 12
    tab.touch()                                      # scrolled a slice: 12 s of work
    now[0] += 5
    tab.apply(session, actor=ann, op=_brush(index=3))  # 5 s more
    now[0] += 600                                    # away for ten minutes
    tab.apply(session, actor=ann, op=_brush(index=4))
    result = tab.save(session, actor=ann)
    assert result is not None and result.revision.time_spent == pytest.approx(17.0)
    session.refresh(task)
    assert task.time_spent == pytest.approx(17.0)


def test_a_pause_longer_than_the_lease_loses_nothing_unless_someone_took_over(session, work) -> None:
    """Expiry only lets another tab take the annotation; the holder keeps writing until then."""
    _, ann, _, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    lease = session.get(AnnotationLease, target.id)
    lease.expires_at = utcnow() - timedelta(minutes=5)  # the annotator went for coffee
    session.add(lease)
    session.commit()
    assert tab.apply(session, actor=ann, op=_brush()).changed
    session.expire_all()
    assert session.get(AnnotationLease, target.id).expires_at > utcnow()
    lease = session.get(AnnotationLease, target.id)
    lease.expires_at = utcnow() - timedelta(minutes=5)
    session.add(lease)
    session.commit()
    second = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-2")
    assert second.editable  # the expired lease was free to take
    with pytest.raises(Conflict, match="lost its lease"):
        tab.apply(session, actor=ann, op=_brush(index=3))


def test_strokes_after_a_save_are_unsaved_until_the_next_save(session, work) -> None:
    """The journal numbered entries from the highest pending one, so after a fold it began
    at 1 again and the editor thought new strokes were saved: the page stopped saving."""
    _, ann, _, target = work
    tab = editing.open_edit(session, actor=ann, annotation_id=target.id, holder="tab-1")
    for index in (1, 2, 3):
        tab.apply(session, actor=ann, op=_brush(index=index))
    assert tab.save(session, actor=ann) is not None
    tab.apply(session, actor=ann, op=_brush(index=4))
    assert tab.unsaved
    second = tab.save(session, actor=ann)
    assert second is not None and second.revision.sequence == 2
    assert np.array_equal(editing.mask_now(session, actor=ann, annotation_id=target.id),
                          tab.editor.mask)
