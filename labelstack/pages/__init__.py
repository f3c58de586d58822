"""NiceGUI pages. Importing a page module registers its routes; `install` adds the
sign-in guard that keeps every page except /login behind a session, and the "not found" page
(with the header and a way back) for addresses that are no page; API 404s stay JSON."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from nicegui import Client, app
from nicegui.page import page
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from labelstack.components import view3d_proxy
from labelstack.components.frame import not_found
from labelstack.components.session import SESSION_KEY, browser_user

FAVICON = Path(__file__).with_name("favicon.svg")
OPEN_PAGES = {"/login"}
JSON_PATHS = ("/api/", "/_nicegui/")


class SignInGuard(BaseHTTPMiddleware):
    """Sends a browser without a session to /login, remembering where it wanted to go."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if (path in Client.page_routes.values() and path not in OPEN_PAGES
                and app.storage.user.get(SESSION_KEY) is None):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?{urlencode({'redirect_to': target})}")
        return await call_next(request)


def install(fastapi_app: FastAPI) -> None:
    # Importing a page module registers its routes.
    from labelstack.pages import (  # noqa: F401
        annotator,
        home,
        image_details,
        images,
        labels,
        login,
        my_tasks,
        stats,
        task_details,
        tasks,
        users,
        viewer,
    )

    fastapi_app.add_middleware(SignInGuard)
    view3d_proxy.install(fastapi_app)
    fastapi_app.add_exception_handler(404, missing_page)


async def missing_page(request: Request, exc: Exception) -> Response:
    """A 404 for a browser: the app's frame and a way back. The API, NiceGUI's own files and a
    route of a router that raised 404 answer JSON, as FastAPI does."""
    endpoint = request.scope.get("endpoint")
    is_route = endpoint is not None and endpoint is not app \
        and not request.scope.get("nicegui_page_path")
    if isinstance(exc, HTTPException) and (is_route or request.url.path.startswith(JSON_PATHS)):
        return await http_exception_handler(request, exc)
    with Client(page(""), request=request) as client:
        not_found(user=browser_user())
    return client.build_response(request, 404)
