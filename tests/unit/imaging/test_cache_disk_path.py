"""The disk tier's file for another process: the committed .npy once written, none when the
tier does not hold the volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labelstack.imaging import VolumeCache
from tests.unit.imaging.helpers import make_volume


def _volume(value: float):  # noqa: ANN202
    return lambda: make_volume(np.full((4, 10, 10), value, np.float32), default_window=(1.0, 2.0))


def test_the_written_file_holds_the_volume(tmp_path: Path) -> None:
    cache = VolumeCache(tmp_path, max_bytes=10_000)
    cache.get("a", _volume(3))
    path = cache.disk_path("a")  # waits for the background write
    assert path is not None and path.parent == tmp_path
    np.testing.assert_array_equal(np.load(path, mmap_mode="r"), np.full((4, 10, 10), 3, np.float32))


def test_no_file_for_a_volume_the_disk_tier_does_not_hold(tmp_path: Path) -> None:
    cache = VolumeCache(tmp_path, max_bytes=10_000, disk_max_bytes=100)  # each volume: 1600 bytes
    cache.get("a", _volume(1))
    assert cache.disk_path("a") is None
    assert cache.disk_path("never-loaded") is None


def test_no_file_once_invalidated(tmp_path: Path) -> None:
    cache = VolumeCache(tmp_path, max_bytes=10_000)
    cache.get("a", _volume(1))
    assert cache.disk_path("a") is not None
    cache.invalidate("a")
    assert cache.disk_path("a") is None
