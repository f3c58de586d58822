"""Timing how a series opens, shared by the local and the Orthanc benchmarks: each empties the
caches the same way and opens through the same services."""

from __future__ import annotations

import time
from collections.abc import Callable

from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.images import runtime, series_load
from labelstack.services.images import view as image_view


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def empty_caches(uid: str) -> None:
    """The series leaves the volume caches (memory and disk) and the thumbnails, as if never
    opened; the index, with its stack order, and the cache object stay, as in a running
    server."""
    with session_scope() as session:
        key = series_load.indexed(session, uid).key
    runtime.volume_cache().invalidate(key)
    runtime.thumbnail_path(key).unlink(missing_ok=True)


def render_middle(admin: User, uid: str) -> bytes:
    with session_scope() as session:
        return image_view.render(session, actor=admin, series_uid=uid, fmt="jpeg")


def load(uid: str) -> object:
    with session_scope() as session:
        return image_view.load_volume(session, uid)


def settle() -> None:
    """Wait for the background disk copy of the volume just loaded (never timed)."""
    runtime.volume_cache().flush()
