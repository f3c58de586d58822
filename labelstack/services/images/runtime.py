"""The image services' process-wide state, at the bottom of `images/`: the settings they
follow, the volume cache and the thumbnail files, and the store each series lives in.

Everything else in `images/` reads these through the functions here, so a new
`configure()` (at start, in tests) reaches every reader at once.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from labelstack.config import Settings, load_settings
from labelstack.imaging.cache import VolumeCache
from labelstack.services.images.shape import content_key
from labelstack.stores import ImageStore, store_for

_settings: Settings | None = None


def configure(settings: Settings | None) -> None:
    """Called at start: the stores and the volume cache follow these settings (None: the
    environment's, read on next use)."""
    global _settings
    _settings = settings
    reset_cache()


def current_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def store(name: str | None = None) -> ImageStore:
    """The store called `name` (a series' `store` column), or the configured one."""
    return store_for(current_settings(), name)


_cache: VolumeCache | None = None
_cache_lock = threading.Lock()


def reset_cache() -> None:
    """Forget the cache (after its pending disk writes) so the next use builds one from the
    current settings."""
    global _cache
    with _cache_lock:
        if _cache is not None:
            _cache.flush()
        _cache = None


def volume_cache() -> VolumeCache:
    global _cache
    with _cache_lock:
        if _cache is None:
            settings = current_settings()
            _cache = VolumeCache(settings.data_dir / "cache" / "volumes",
                                 settings.volume_cache_mb << 20,
                                 disk_max_bytes=settings.volume_disk_cache_mb << 20)
        return _cache


def forget(series_uid: str, keys: list[str]) -> None:
    """Drop the cached volume and thumbnail of this set of instances (the series left the
    index)."""
    key = content_key(series_uid, keys)
    volume_cache().invalidate(key)
    thumbnail_path(key).unlink(missing_ok=True)


def thumbnail_path(key: str) -> Path:
    """Hashed: the name never depends on what a store put into a UID."""
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    return current_settings().data_dir / "cache" / "thumbnails" / f"{name}.jpg"
