"""Timing how a series opens, shared by the local and the Orthanc benchmarks: each empties the
caches the same way and opens through the same services."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from labelstack.db.models import Series, User
from labelstack.db.session import session_scope
from labelstack.services import brief_cache
from labelstack.services.images import runtime, series_load
from labelstack.services.images import view as image_view

QUIET_SECONDS = 0.5


def timed_ms(fn: Callable[[], object], *, quiet: bool = True) -> float:
    """One call's wall time; unless told not to, from a quiet start: the heap collected and
    the servers given a moment (else the previous step's garbage collection, or Orthanc
    still busy after a 150 MB retrieve, lands in whichever call comes next). A request loop
    has neither, and pausing before each request would only empty the CPU caches."""
    if quiet:
        gc.collect()
        time.sleep(QUIET_SECONDS)
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def empty_caches(uid: str) -> None:
    """The series leaves the volume caches (memory and disk), the frame cache, the thumbnails
    and the brief caches (its index entry, every view decision), as if never opened; the index, with its
    stack order, and the cache object stay, as in a running server."""
    with session_scope() as session:
        key = series_load.indexed(session, uid).key
    runtime.volume_cache().invalidate(key)
    runtime.frame_cache().forget(key)
    runtime.thumbnail_path(key).unlink(missing_ok=True)
    brief_cache.bump({Series.__tablename__})  # stales every index entry and view decision


def render_middle(admin: User, uid: str) -> bytes:
    with session_scope() as session:
        return image_view.render(session, actor=admin, series_uid=uid, fmt="jpeg")


def load(uid: str) -> object:
    with session_scope() as session:
        return image_view.load_volume(session, uid)


def settle() -> None:
    """Wait for the background disk copy of the volume just loaded (never timed)."""
    runtime.volume_cache().flush()
