"""The image services' process-wide state, at the bottom of `images/`: the settings they
follow, the volume and frame caches and the thumbnail files, and the store each series
lives in.

Everything else in `images/` reads these through the functions here, so a new
`configure()` (at start, in tests) reaches every reader at once.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from labelstack.config import Settings, load_settings
from labelstack.imaging.cache import CACHE_FORMAT, VolumeCache
from labelstack.imaging.frame_cache import FrameCache
from labelstack.stores import ImageStore, store_for

_settings: Settings | None = None


def configure(settings: Settings | None) -> None:
    """Called at start: the stores and the volume cache follow these settings (None: the
    environment's, read on next use)."""
    global _settings
    _settings = settings
    _stores.clear()
    reset_cache()


def current_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


_stores: dict[tuple[int, str | None], ImageStore] = {}


def store(name: str | None = None) -> ImageStore:
    """The store called `name` (a series' `store` column), or the configured one; one
    object per settings, so a DICOMweb store's connections are reused."""
    settings = current_settings()
    key = (id(settings), name)
    found = _stores.get(key)
    if found is None:
        found = _stores[key] = store_for(settings, name)
    return found


_cache: VolumeCache | None = None
_frames: FrameCache | None = None
_cache_lock = threading.Lock()


def reset_cache() -> None:
    """Forget the caches (the volume cache after its pending disk writes) so the next use
    builds them from the current settings."""
    global _cache, _frames
    with _cache_lock:
        if _cache is not None:
            _cache.flush()
        _cache = None
        _frames = None


def volume_cache() -> VolumeCache:
    global _cache
    with _cache_lock:
        if _cache is None:
            settings = current_settings()
            _cache = VolumeCache(settings.data_dir / "cache" / "volumes",
                                 settings.volume_cache_mb << 20,
                                 disk_max_bytes=settings.volume_disk_cache_mb << 20)
        return _cache


def frame_cache() -> FrameCache:
    global _frames
    with _cache_lock:
        if _frames is None:
            _frames = FrameCache(current_settings().frame_cache_mb << 20)
        return _frames


def content_key(series_uid: str, instance_set: str) -> str:
    """Names one set of instances of a series (for the volume, frame and thumbnail caches and
    the kept stack): `instance_set` is the token the database renews whenever the series'
    instances change (migration 0006), so a series that gains, loses or swaps instances, or
    is dropped and indexed again, gets another name."""
    return f"{series_uid}-{instance_set}"


def forget(key: str) -> None:
    """Drop the cached volume, frames, thumbnail and kept stack of the set of instances
    named `key` (it left the index: only to free the room, as its name is never used again)."""
    volume_cache().invalidate(key)
    frame_cache().forget(key)
    thumbnail_path(key).unlink(missing_ok=True)
    stack_order_path(key).unlink(missing_ok=True)


def thumbnail_path(key: str) -> Path:
    """Hashed: the name never depends on what a store put into a UID. Named with the volume
    cache's format too, so that a change in decoding draws the thumbnails again."""
    return _hashed("thumbnails", f"{CACHE_FORMAT}/{key}", ".jpg")


def stack_order_path(key: str) -> Path:
    """Where `shape.save_stack_order` keeps which instance each slice comes from."""
    return _hashed("stacks", key, ".json")


def _hashed(folder: str, key: str, suffix: str) -> Path:
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    return current_settings().data_dir / "cache" / folder / f"{name}{suffix}"
