"""NiceGUI pages. Importing a page module registers its routes; `install` adds the
sign-in guard that keeps every page except /login behind a session."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from nicegui import Client, app
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from labelstack.components.session import SESSION_KEY

FAVICON = Path(__file__).with_name("favicon.svg")
OPEN_PAGES = {"/login"}


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
        images,
        labels,
        login,
        my_tasks,
        stats,
        tasks,
        users,
        viewer,
    )

    fastapi_app.add_middleware(SignInGuard)
