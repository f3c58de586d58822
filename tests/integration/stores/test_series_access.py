"""Who may view a series (GET detail, metadata, render, thumbnail): admins all; annotators
and reviewers only the images of their own tasks, by each way a task can hold an image."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db.models import Annotation, Label, LabelAssignment, Series, Task, TaskItem, User
from labelstack.services.images import importing as image_import
from labelstack.services.images.sources import sources_from_paths

PATHS = ["", "/metadata", "/render", "/thumbnail"]
# who → (series they may view, series they may not); "ct"/"mr" name the two loaded series.
CASES = [
    pytest.param("admin", ["ct", "mr"], [], id="admin-sees-all"),
    pytest.param("labeller", ["ct"], ["mr"], id="label-task-image"),
    pytest.param("annotator", ["mr"], ["ct"], id="annotation-task-assignment"),
    pytest.param("reviewer", ["ct"], ["mr"], id="review-task-annotation"),
    pytest.param("idle", [], ["ct", "mr"], id="no-task"),
    pytest.param("other-reviewer", [], ["ct", "mr"], id="unassigned-review-task"),
]


@pytest.fixture
def world(session: Session, settings: Settings, ct_files: list[Path], make_user,
          token_for) -> dict[str, object]:
    """Two series and one task of each kind, each holding its image another way."""
    mr_file = Path(get_testdata_file("MR_small.dcm"))
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files + [mr_file]))
    series = {s.modality.lower(): s for s in session.exec(select(Series)).all()}
    users: dict[str, User] = {
        "admin": make_user("admin"), "labeller": make_user("annotator"),
        "annotator": make_user("annotator"), "reviewer": make_user("reviewer"),
        "idle": make_user("annotator"), "other-reviewer": make_user("reviewer")}
    label = Label(name="Lesion", color="#ff0000")
    session.add(label)
    session.flush()
    on_ct = LabelAssignment(label_id=label.id, series_id=series["ct"].id)
    on_mr = LabelAssignment(label_id=label.id, series_id=series["mr"].id)
    session.add_all([on_ct, on_mr])
    session.flush()
    drawn = Annotation(label_assignment_id=on_ct.id, version=1, author_id=users["labeller"].id)
    session.add(drawn)
    session.flush()
    for kind, who, item in [("label", "labeller", {"series_id": series["ct"].id}),
                            ("annotation", "annotator", {"label_assignment_id": on_mr.id}),
                            ("review", "reviewer", {"annotation_id": drawn.id}),
                            ("review", None, {"annotation_id": drawn.id})]:
        task = Task(type=kind, name=f"{kind} task", status="open" if who else "unassigned",
                    assignee_id=users[who].id if who else None)
        session.add(task)
        session.flush()
        session.add(TaskItem(task_id=task.id, position=0, **item))
    session.commit()
    return {"uids": {k: s.series_uid for k, s in series.items()},
            "headers": {name: token_for(user) for name, user in users.items()}}


@pytest.mark.parametrize("who,allowed,refused", CASES)
def test_series_views_follow_the_tasks(client: TestClient, world: dict, who: str,
                                       allowed: list[str], refused: list[str]) -> None:
    headers = world["headers"][who]
    for kind in allowed + refused:
        uid = world["uids"][kind]
        for path in PATHS:
            r = client.get(f"/api/v1/series/{uid}{path}", headers=headers)
            if kind in allowed:
                assert r.status_code == 200, f"{who} {kind}{path}: {r.status_code} {r.text}"
            else:
                assert r.status_code == 403, f"{who} {kind}{path}: {r.status_code} {r.text}"
                assert r.json()["detail"] == (f"series {uid} is not part of any of your tasks: "
                                              "only admins and the assignees of a task holding "
                                              "it may view it")


def test_unknown_series_is_404_for_admins_and_403_for_others(client: TestClient,
                                                              world: dict) -> None:
    for who, status in [("admin", 404), ("reviewer", 403)]:
        for path in PATHS:
            r = client.get(f"/api/v1/series/1.2.3.4{path}", headers=world["headers"][who])
            assert r.status_code == status, f"{who}{path}: {r.text}"


def test_a_series_without_instances_is_404_for_admins_and_403_for_others(
        client: TestClient, world: dict, session: Session) -> None:
    """Left by an import that failed at its first file: indexed, nothing to show."""
    study_id = session.exec(select(Series)).first().study_id
    empty = Series(series_uid="1.2.826.0.1.3680043.8.498.9009", study_id=study_id)
    session.add(empty)
    session.commit()
    r = client.get(f"/api/v1/series/{empty.series_uid}/render", headers=world["headers"]["admin"])
    assert r.status_code == 404 and r.json()["detail"] == f"series {empty.series_uid} has no instances"
    r = client.get(f"/api/v1/series/{empty.series_uid}/render", headers=world["headers"]["reviewer"])
    assert r.status_code == 403
