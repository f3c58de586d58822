"""The render route keeps the token's user, the view rule's answer and the series' instances
briefly (`services/brief_cache.py`): each change that takes a frame away is refused on the
very next request, whichever way it is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db.models import Series, Task, TaskItem
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.images import importing as image_import
from labelstack.services.images import view as image_view
from labelstack.services.images.sources import sources_from_paths
from tests.integration.stores.conftest import CT_SHAPE

CT_UID = "1.2.826.0.1.3680043.8.498.1001"
RENDER = f"/api/v1/series/{CT_UID}/render"


@pytest.fixture
def world(session: Session, settings: Settings, ct_files: list[Path], make_user,
          token_for) -> dict:
    """The CT in a label task of an annotator; an admin; both with tokens."""
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(ct_files))
    series = session.exec(select(Series)).one()
    annotator, admin = make_user("annotator"), make_user("admin")
    task = Task(type="label", name="label task", status="open", assignee_id=annotator.id)
    session.add(task)
    session.flush()
    session.add(TaskItem(task_id=task.id, position=0, series_id=series.id))
    session.commit()
    return {"annotator": annotator, "admin": admin, "task": task,
            "annotator_headers": token_for(annotator), "admin_headers": token_for(admin)}


def _frames(client: TestClient, headers: dict, times: int = 3) -> list[int]:
    return [client.get(RENDER, params={"index": 1, "format": "jpeg"}, headers=headers).status_code
            for _ in range(times)]


def test_a_revoked_token_is_refused_on_the_next_frame(client: TestClient, world: dict) -> None:
    headers = world["annotator_headers"]
    assert _frames(client, headers) == [200, 200, 200]
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    r = client.get(RENDER, headers=headers)
    assert r.status_code == 401 and r.json()["detail"] == "invalid or expired token"


def test_a_deactivated_user_is_refused_on_the_next_frame(client: TestClient, world: dict) -> None:
    headers = world["annotator_headers"]
    assert _frames(client, headers) == [200, 200, 200]
    user_id = world["annotator"].id
    assert client.delete(f"/api/v1/users/{user_id}", headers=world["admin_headers"]).status_code == 200
    assert client.get(RENDER, headers=headers).status_code == 401


def test_a_lost_role_is_refused_on_the_next_frame(client: TestClient, world: dict,
                                                  make_user, token_for) -> None:
    """An admin made a plain reviewer sees only their tasks' images (none)."""
    demoted = make_user("admin")
    headers = token_for(demoted)
    assert _frames(client, headers) == [200, 200, 200]
    r = client.patch(f"/api/v1/users/{demoted.id}", json={"roles": ["reviewer"]},
                     headers=world["admin_headers"])
    assert r.status_code == 200, r.text
    assert client.get(RENDER, headers=headers).status_code == 403


def test_a_reassigned_task_takes_the_image_away_on_the_next_frame(
        client: TestClient, world: dict, make_user) -> None:
    headers = world["annotator_headers"]
    assert _frames(client, headers) == [200, 200, 200]
    other = make_user("annotator")
    r = client.patch(f"/api/v1/tasks/{world['task'].id}", json={"assignee_id": other.id},
                     headers=world["admin_headers"])
    assert r.status_code == 200, r.text
    r = client.get(RENDER, headers=headers)
    assert r.status_code == 403 and "not part of any of your tasks" in r.json()["detail"]


def test_a_removed_item_written_directly_is_refused_on_the_next_frame(
        client: TestClient, world: dict, session: Session) -> None:
    """Not through a service: the ORM's own flush tells the caches."""
    headers = world["annotator_headers"]
    assert _frames(client, headers) == [200, 200, 200]
    for item in session.exec(select(TaskItem)).all():
        session.delete(item)
    session.commit()
    assert client.get(RENDER, headers=headers).status_code == 403


def test_a_refusal_is_not_cached(client: TestClient, world: dict, session: Session,
                                 make_user, token_for) -> None:
    """Given the image a moment after a refusal, the next frame shows it."""
    newcomer = make_user("annotator")
    headers = token_for(newcomer)
    assert _frames(client, headers, 2) == [403, 403]
    task = session.get(Task, world["task"].id)
    assert task is not None
    task.assignee_id = newcomer.id
    session.add(task)
    session.commit()
    assert _frames(client, headers, 2) == [200, 200]


def test_a_series_dropped_from_the_index_is_gone_on_the_next_frame(
        client: TestClient, world: dict, session: Session) -> None:
    headers = world["admin_headers"]
    assert _frames(client, headers) == [200, 200, 200]
    for item in session.exec(select(TaskItem)).all():
        session.delete(item)
    session.delete(session.exec(select(Series)).one())
    session.commit()
    r = client.get(RENDER, headers=headers)
    assert r.status_code == 404 and r.json()["detail"] == f"no series {CT_UID} in the index"


def test_a_frame_asked_again_comes_from_the_frame_cache_until_the_series_changes(
        client: TestClient, world: dict, session: Session, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Same slice, window and format: the kept bytes; another window, or the series after
    it gained an instance (another content key), is rendered again."""
    renders: list[int] = []
    for drawing in ("render_slice", "render_stored"):  # from the volume, from a slice's bytes
        real = getattr(image_view, drawing)
        monkeypatch.setattr(image_view, drawing,
                            lambda *a, real=real, **k: renders.append(1) or real(*a, **k))
    headers = world["admin_headers"]
    assert client.get(f"/api/v1/series/{CT_UID}", headers=headers).status_code == 200  # loaded
    asked = {"index": 1, "format": "jpeg", "wl": 40, "ww": 400}
    first = client.get(RENDER, params=asked, headers=headers)
    again = client.get(RENDER, params=asked, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and len(renders) == 1
    other = client.get(RENDER, params=asked | {"ww": 80}, headers=headers)
    assert other.status_code == 200 and other.content != first.content and len(renders) == 2
    grown = write_ct_series(tmp_path / "grown", shape=(CT_SHAPE[0] + 1, *CT_SHAPE[1:]),
                            spacing=(2.5, 0.8, 0.8), patient_id="CT-001", series_uid=CT_UID,
                            seed=None)
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(grown))
    assert client.get(RENDER, params=asked, headers=headers).status_code == 200
    assert len(renders) == 3
