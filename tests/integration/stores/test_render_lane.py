"""The render lane answers frames in front of every middleware, with the route's pixels and
errors; what it does not plainly understand still gets the route's own answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio import to_thread
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.middleware.base import BaseHTTPMiddleware

from labelstack import api
from labelstack.api import render_lane
from labelstack.api.render_lane import frame_query
from labelstack.imaging.mpr import Plane

CT_UID = "1.2.826.0.1.3680043.8.498.1001"
RENDER = f"/api/v1/series/{CT_UID}/render"


class Refuses(BaseHTTPMiddleware):
    """Stands for NiceGUI's middlewares: whatever reaches it is marked as having done so."""

    async def dispatch(self, request, call_next):  # noqa: ANN001, ANN201
        response = await call_next(request)
        response.headers["x-through-the-stack"] = "1"
        return response


@pytest.fixture
def stacked(db_url: str) -> Iterator[TestClient]:
    app = FastAPI()
    api.install(app)
    app.add_middleware(Refuses)  # added after the API, as NiceGUI adds its own at run time
    with TestClient(app) as c:
        yield c


@pytest.fixture
def headers(stacked: TestClient, make_user, token_for, ct_files: list[Path]) -> dict[str, str]:  # noqa: ANN001
    admin = token_for(make_user("admin"))
    files = [("files", (p.name, p.read_bytes(), "application/dicom")) for p in ct_files]
    assert stacked.post("/api/v1/dicom", files=files, headers=admin).status_code == 200
    return admin


def test_a_frame_is_served_in_front_of_the_middlewares(stacked: TestClient, headers: dict) -> None:
    params = {"index": 2, "ww": 1500, "wl": -300, "format": "jpeg", "invert": 1}
    fast = stacked.get(RENDER, params=params, headers=headers)
    assert fast.status_code == 200 and "x-through-the-stack" not in fast.headers
    assert fast.headers["content-type"] == "image/jpeg"
    slow = stacked.get(RENDER, params=params | {"unused": ["a", "b"]}, headers=headers)
    assert slow.headers["x-through-the-stack"] == "1"  # a repeated parameter: the route's turn
    assert slow.content == fast.content


def test_a_service_refusal_is_answered_in_the_lane_as_the_route_does(stacked: TestClient,
                                                                     headers: dict) -> None:
    r = stacked.get("/api/v1/series/1.2.3/render", headers=headers)
    assert r.status_code == 404 and "x-through-the-stack" not in r.headers
    assert "1.2.3" in r.json()["detail"]
    r = stacked.get(RENDER, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("query", [
    {"ww": 0}, {"ww": "nan"}, {"index": -1}, {"table": "1e3"}, {"plane": "oblique"},
    {"invert": 2}, {"format": "gif"}, {"index": ""}])
def test_bad_parameters_get_the_route_s_own_error(stacked: TestClient, headers: dict,
                                                  query: dict) -> None:
    r = stacked.get(RENDER, params=query, headers=headers)
    assert r.status_code == 422 and r.headers["x-through-the-stack"] == "1"


def test_no_token_gets_the_route_s_own_error(stacked: TestClient) -> None:
    r = stacked.get(RENDER)
    assert r.status_code == 401 and r.headers["x-through-the-stack"] == "1"


def test_the_query_is_read_as_the_route_reads_it() -> None:
    assert frame_query(b"") == (Plane.axial, None, None, None, False, None, "png")
    assert frame_query(b"plane=coronal&index=20&ww=1.5e3&wl=-300&invert=1&table=1&format=jpeg") == (
        Plane.coronal, 20, -300.0, 1500.0, True, 1, "jpeg")
    assert frame_query(b"index=2&index=3") is None
    assert frame_query(b"ww=1_000") is None


class CountsThreads:
    """Stands for `anyio.to_thread` in the lane: records which frames needed a worker thread."""

    def __init__(self) -> None:
        self.calls = 0

    async def run_sync(self, func, *args):  # noqa: ANN001, ANN002, ANN201
        self.calls += 1
        return await to_thread.run_sync(func, *args)


def test_a_warm_frame_is_rendered_without_a_thread_and_a_revoked_token_is_refused_at_once(
        stacked: TestClient, headers: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = CountsThreads()
    monkeypatch.setattr(render_lane, "to_thread", threads)
    params = {"index": 2, "format": "jpeg"}
    cold = stacked.get(RENDER, params=params, headers=headers)
    assert cold.status_code == 200 and threads.calls == 1  # the volume was not loaded yet
    assert stacked.get(f"/api/v1/series/{CT_UID}", headers=headers).status_code == 200  # loaded
    warm = [stacked.get(RENDER, params=params | {"index": i}, headers=headers) for i in (2, 3)]
    assert [r.status_code for r in warm] == [200, 200] and threads.calls == 1
    assert warm[0].content == cold.content
    bad = stacked.get(RENDER, params={"index": 99}, headers=headers)
    assert bad.status_code == 422 and "out of range" in bad.json()["detail"] and threads.calls == 1
    assert stacked.post("/api/v1/auth/logout", headers=headers).status_code == 204
    r = stacked.get(RENDER, params=params, headers=headers)
    assert r.status_code == 401 and r.json()["detail"] == "invalid or expired token"
    assert threads.calls == 2  # not held any more: the long way, which refuses it
