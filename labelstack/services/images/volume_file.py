"""The disk copy of a series' volume, for another process to memory-map (the 3D view): the
volume cache's own .npy when the volume came from it, else a copy kept for that purpose (a
volume decoded just now, or one the disk tier does not hold)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from sqlmodel import Session

from labelstack.db.models import User
from labelstack.imaging.volume import Volume
from labelstack.services.images import runtime
from labelstack.services.images.access import require_series_reader
from labelstack.services.images.view import load_volume


def volume_file(session: Session, *, actor: User, series_uid: str) -> tuple[Path, Volume]:
    """The .npy holding the series' (z, y, x) pixels, for a user who may view it, and the
    volume (for its geometry). Blocks: decodes on first use and waits for the disk write."""
    require_series_reader(session, actor=actor, series_uid=series_uid)
    volume = load_volume(session, series_uid)
    pixels = volume.pixels
    if isinstance(pixels, np.memmap) and pixels.filename:
        return Path(pixels.filename), volume
    return _own_copy(volume), volume


def _own_copy(volume: Volume) -> Path:
    """A copy under data_dir/cache/view3d, named by the series and its shape, written once
    (atomically: a reader never sees half a file)."""
    name = hashlib.sha256(f"{volume.series_uid}-{volume.shape}-{volume.spacing}".encode()).hexdigest()[:40]
    directory = runtime.current_settings().data_dir / "cache" / "view3d"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.npy"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, np.ascontiguousarray(volume.pixels))
        os.replace(tmp, path)
    return path
