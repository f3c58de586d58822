"""The body-limit table: which routes take uploads, and a declared size refused unread."""

from __future__ import annotations

import json

import pytest

from labelstack import api
from labelstack.api.body_limits import BodyLimits
from labelstack.services.errors import TooLarge
from labelstack.services.images.importing import check_upload_size
from tests.own_loop import in_own_loop


def _limits(app=None) -> BodyLimits:  # noqa: ANN001
    routes = [(method, path, check_upload_size) for method, path in api.UPLOAD_ROUTES]
    return BodyLimits(app, routes=routes, default=api.check_small_body)


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/dicom"),
    ("POST", "/api/v1/seg/import"),
    ("POST", "/api/v1/annotations/12/revisions"),
    ("POST", "/_nicegui/client/3f2a-bc/upload/17"),
])
def test_upload_routes_take_the_upload_limit(method: str, path: str) -> None:
    assert _limits().check_for(method, path) is check_upload_size


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/labels"),
    ("POST", "/api/v1/dicom/extra"),
    ("POST", "/api/v1/seg/import/1.2.3"),  # from the store: no file in the body
    ("PATCH", "/api/v1/annotations/12/revisions"),
    ("POST", "/_nicegui_ws/socket.io/"),
    ("POST", "/login"),
])
def test_every_other_route_takes_a_small_body(method: str, path: str) -> None:
    assert _limits().check_for(method, path) is api.check_small_body
    with pytest.raises(TooLarge):
        api.check_small_body(2**20 + 1)
    api.check_small_body(2**20)


@in_own_loop
async def test_a_declared_size_over_the_limit_is_answered_without_reading() -> None:
    async def app(scope, receive, send) -> None:  # noqa: ANN001
        raise AssertionError("the app must not be called")

    async def receive() -> dict:
        raise AssertionError("the body must not be read")

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/labels",
             "headers": [(b"content-length", str(200 * 2**20).encode())]}
    await _limits(app)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["limit_mb"] == 1
