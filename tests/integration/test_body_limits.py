"""Request bodies are bounded by route before authentication: 413 with a clear message."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from labelstack import api
from labelstack.config import Settings
from labelstack.imaging.phantom import write_ct_series
from tests.own_loop import in_own_loop

MB = 2**20
TOO_LARGE = {"detail": "request body too large: this route takes at most 1 MB (files go to the "
                       "upload routes, up to LABELSTACK_MAX_UPLOAD_MB)", "limit_mb": 1}


class Body:
    """A body of `total_mb` sent chunked, 1 MB at a time, counting how much the server took."""

    def __init__(self, total_mb: int = 200, head: bytes = b"") -> None:
        self.total_mb = total_mb
        self.head = head
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for _ in range(self.total_mb):
            self.sent += 1
            yield b" " * MB


@pytest.fixture
def streaming(db_url: str) -> Callable[..., Awaitable[httpx.Response]]:
    """POST through an ASGI transport that streams the body as the app asks for it (the test
    client would read it whole first)."""
    app = FastAPI()
    api.install(app)

    async def post(path: str, body: Body, content_type: str,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.post(path, content=body,
                                headers={"Content-Type": content_type, **(headers or {})})

    return post


def test_an_oversized_declared_body_is_refused_before_authentication(client: TestClient) -> None:
    r = client.post("/api/v1/labels", content=b"{" + b" " * MB + b"}",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413  # not 401: the body's size is known before anyone is asked
    assert r.json() == TOO_LARGE


@in_own_loop
async def test_an_oversized_chunked_body_is_cut_off(streaming) -> None:
    body = Body()
    r = await streaming("/api/v1/labels", body, "application/json")
    assert r.status_code == 413
    assert "content-length" not in r.request.headers
    assert r.json() == TOO_LARGE
    assert body.sent <= 2  # read up to the limit, not the 200 MB


@in_own_loop
async def test_a_form_body_for_the_token_endpoint_is_bounded_too(streaming) -> None:
    r = await streaming("/api/v1/auth/token", Body(5), "application/x-www-form-urlencoded")
    assert r.status_code == 413 and r.json() == TOO_LARGE


def test_normal_requests_still_work(client: TestClient, make_user, token_for) -> None:
    headers = token_for(make_user("admin"))
    r = client.post("/api/v1/labels", json={"name": "Liver", "description": "x" * 900},
                    headers=headers)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/labels", json={"name": "Spleen"}).status_code == 401


@pytest.fixture
def big_series(tmp_path: Path) -> Path:
    """A real CT series zipped, over the small-body limit."""
    files = write_ct_series(tmp_path / "ct", shape=(40, 128, 128), seed=None)
    archive = tmp_path / "ct.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for path in files:
            z.write(path, path.name)
    assert archive.stat().st_size > MB
    return archive


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_real_dicom_upload_over_a_megabyte_is_imported(client: TestClient, make_user, token_for,
                                                          settings: Settings, big_series: Path,
                                                          chunked: bool) -> None:
    headers = token_for(make_user("admin"))
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="ct.zip"\r\n'
            f"Content-Type: application/zip\r\n\r\n").encode() + big_series.read_bytes() \
        + f"\r\n--{boundary}--\r\n".encode()
    content = iter([body[i:i + MB // 4] for i in range(0, len(body), MB // 4)]) if chunked else body
    r = client.post("/api/v1/dicom", content=content,
                    headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["stored"] == 40


@in_own_loop
async def test_a_streamed_upload_over_the_upload_limit_is_cut_off(
        streaming, settings: Settings, make_user, token_for) -> None:
    settings.max_upload_mb = 2
    anonymous = Body(50)
    r = await streaming("/api/v1/dicom", anonymous, "multipart/form-data; boundary=x")
    assert r.status_code == 401 and anonymous.sent <= 1  # the route reads it only after auth
    body = Body(50, head=b'--x\r\nContent-Disposition: form-data; name="files"; '
                         b'filename="a.dcm"\r\n\r\n')
    r = await streaming("/api/v1/dicom", body, "multipart/form-data; boundary=x",
                        token_for(make_user("admin")))
    assert r.status_code == 413
    assert r.json()["limit_mb"] == 2 and "LABELSTACK_MAX_UPLOAD_MB" in r.json()["detail"]
    assert body.sent <= 3


def test_a_declared_upload_over_the_upload_limit_is_refused_before_authentication(
        client: TestClient, settings: Settings) -> None:
    settings.max_upload_mb = 1
    r = client.post("/api/v1/dicom", content=b"-" * (MB + 1),
                    headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413 and r.json()["limit_mb"] == 1
