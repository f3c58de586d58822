"""Assembling the application: check settings, migrate, mount the API and pages, run.

`prepare()` does every check that can fail at start, so a bad setting stops the
process with one clear message before anything listens.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from labelstack.config import Settings, SettingsError
from labelstack.db import session as db_session
from labelstack.db.migrate import upgrade
from labelstack.services.images import runtime as image_runtime


def prepare(settings: Settings) -> None:
    """Create/verify the data dir, reach the database, migrate it to head, point the
    image services at this data dir."""
    data_dir = settings.prepare_data_dir()
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(data_dir / "sessions"))
    url = settings.resolved_database_url
    engine = db_session.configure(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SettingsError(
            f"cannot reach the database at {_redact(url)}: {reason}. "
            "Check LABELSTACK_DATABASE_URL."
        ) from None
    upgrade(url)
    image_runtime.configure(settings)


def run(settings: Settings, *, host: str, port: int) -> None:
    """Serve the NiceGUI pages and the REST API on one port (blocks)."""
    from nicegui import app, ui

    from labelstack import api, pages

    app.docs_url = f"{api.API_PREFIX}/docs"
    app.redoc_url = f"{api.API_PREFIX}/redoc"
    app.openapi_url = f"{api.API_PREFIX}/openapi.json"
    api.install(app)
    pages.install(app)
    ui.run(
        host=host,
        port=port,
        title="LabelStack",
        favicon=pages.FAVICON,
        storage_secret=settings.resolved_secret_key(),
        reload=False,
        show=False,
        fastapi_docs={"title": "LabelStack API", "version": _version(),
                      "description": "Medical-image annotation: images, labels, tasks, "
                                     "annotations and reviews."},
        uvicorn_logging_level="warning",
        # Forwarded headers are trusted only from LABELSTACK_TRUSTED_PROXIES (api/forwarded.py);
        # uvicorn's own handling would believe them from any loopback peer.
        proxy_headers=False,
    )


def _version() -> str:
    from labelstack import __version__

    return __version__


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
