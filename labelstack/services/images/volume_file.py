"""The disk copy of a series' volume, for another process to memory-map (the 3D view): the
volume cache's own .npy when its disk tier holds the volume, else a copy in the caller's
scratch directory (a volume too big for the disk tier, or one whose write failed), which
goes when that directory does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlmodel import Session

from labelstack.db.models import User
from labelstack.imaging.volume import Volume
from labelstack.services.images import runtime, series_load
from labelstack.services.images.view import open_volume

COPY_NAME = "volume.npy"


def volume_file(session: Session, *, actor: User, series_uid: str,
                scratch: Path) -> tuple[Path, Volume]:
    """The .npy holding the series' (z, y, x) pixels, for a user who may view it, and the
    volume (for its geometry). Blocks: decodes on first use and waits for the disk write."""
    volume = open_volume(session, actor=actor, series_uid=series_uid)
    cached = runtime.volume_cache().disk_path(series_load.indexed(session, series_uid).key)
    if cached is not None:
        return cached, volume
    copy = scratch / COPY_NAME
    np.save(copy, np.ascontiguousarray(volume.pixels))
    return copy, volume
