"""Volume cache: LRU by bytes, disk reload after a restart, invalidation, one load per key."""

from __future__ import annotations

import threading

import numpy as np

from labelstack.imaging import VolumeCache
from tests.unit.imaging.helpers import make_volume


def loader_of(value: float, calls: list[str], key: str, z: int = 4):
    def load():
        calls.append(key)
        return make_volume(np.full((z, 10, 10), value, np.float32), default_window=(1.0, 2.0))

    return load


def test_memory_hit_returns_the_same_object(tmp_path) -> None:
    cache, calls = VolumeCache(tmp_path, max_bytes=10_000), []
    first = cache.get("a", loader_of(1, calls, "a"))
    assert cache.get("a", loader_of(2, calls, "a")) is first
    assert calls == ["a"]
    assert not first.pixels.flags.writeable


def test_lru_eviction_by_bytes(tmp_path) -> None:
    cache, calls = VolumeCache(tmp_path / "c", max_bytes=3 * 1600), []  # each volume: 4*10*10*4 bytes
    for key in "abc":
        cache.get(key, loader_of(1, calls, key))
    cache.get("a", loader_of(1, calls, "a"))  # a becomes most recent
    cache.get("d", loader_of(1, calls, "d"))  # evicts b, the least recent
    cache.flush()
    assert ("a" in cache, "b" in cache, "c" in cache, "d" in cache) == (True, False, True, True)
    assert cache.memory_bytes == 3 * 1600
    cache.get("b", loader_of(1, calls, "b"))  # back from disk, not from the loader
    assert calls == ["a", "b", "c", "d"]


def test_disk_reload_after_a_restart(tmp_path) -> None:
    calls: list[str] = []
    first = VolumeCache(tmp_path, max_bytes=1 << 20)
    original = first.get("series-1", loader_of(7, calls, "x"))
    first.flush()
    reloaded = VolumeCache(tmp_path, max_bytes=1 << 20).get("series-1", loader_of(0, calls, "x"))
    assert calls == ["x"]
    np.testing.assert_array_equal(reloaded.pixels, original.pixels)
    for name in (
        "spacing",
        "origin",
        "orientation",
        "modality",
        "photometric",
        "default_window",
        "series_uid",
        "kind",
        "warnings",
        "frame_time_ms",
    ):
        assert getattr(reloaded, name) == getattr(original, name), name
    assert isinstance(reloaded.spacing, tuple)


def test_volume_larger_than_memory_is_still_served_and_stored(tmp_path) -> None:
    cache, calls = VolumeCache(tmp_path, max_bytes=100), []
    volume = cache.get("big", loader_of(3, calls, "big"))
    assert volume.pixels.shape == (4, 10, 10) and "big" not in cache
    cache.flush()
    cache.get("big", loader_of(3, calls, "big"))
    assert calls == ["big"]


def test_flush_leaves_pixels_and_geometry_on_disk(tmp_path) -> None:
    cache, calls = VolumeCache(tmp_path, max_bytes=1 << 20), []
    cache.get("k", loader_of(1, calls, "k"))
    cache.flush()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy"]


def test_invalidate_forgets_memory_and_disk(tmp_path) -> None:
    cache, calls = VolumeCache(tmp_path, max_bytes=1 << 20), []
    cache.get("k", loader_of(1, calls, "k"))
    cache.invalidate("k")
    assert cache.memory_bytes == 0 and list(tmp_path.iterdir()) == []
    assert cache.get("k", loader_of(2, calls, "k")).pixels[0, 0, 0] == 2
    assert calls == ["k", "k"]


def test_concurrent_gets_load_once(tmp_path) -> None:
    cache, calls, barrier = VolumeCache(tmp_path, max_bytes=1 << 20), [], threading.Barrier(8)
    results = []

    def worker() -> None:
        barrier.wait()
        results.append(cache.get("same", loader_of(5, calls, "same", z=50)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["same"] and len({id(v) for v in results}) == 1


def test_corrupt_disk_entry_is_reloaded(tmp_path) -> None:
    calls: list[str] = []
    cache = VolumeCache(tmp_path, max_bytes=1 << 20)
    cache.get("k", loader_of(1, calls, "k"))
    cache.flush()
    for path in tmp_path.glob("*.json"):
        path.write_text("{not json")
    assert VolumeCache(tmp_path, max_bytes=1 << 20).get("k", loader_of(4, calls, "k")).pixels[0, 0, 0] == 4
    assert calls == ["k", "k"]


def _entry_bytes(tmp_path) -> int:
    """Disk size of one cached (4, 10, 10) float32 volume: .npy plus .json."""
    probe = VolumeCache(tmp_path / "probe", max_bytes=0)
    probe.get("probe", loader_of(0, [], "probe"))
    probe.flush()
    return sum(p.stat().st_size for p in (tmp_path / "probe").iterdir())


def _on_disk(directory) -> int:
    return len(list(directory.glob("*.json")))


def test_disk_tier_evicts_the_least_recently_used_after_a_write(tmp_path) -> None:
    bound, directory, calls = 2 * _entry_bytes(tmp_path) + 200, tmp_path / "c", []
    cache = VolumeCache(directory, max_bytes=0, disk_max_bytes=bound)  # nothing stays in memory
    for key in "ab":
        cache.get(key, loader_of(1, calls, key))
        cache.flush()
    cache.get("a", loader_of(1, calls, "a"))  # a reloaded from disk: b is now least recent
    cache.get("c", loader_of(1, calls, "c"))
    cache.flush()
    assert _on_disk(directory) == 2
    assert sum(p.stat().st_size for p in directory.iterdir()) <= bound
    for key in "ac":
        cache.get(key, loader_of(1, calls, key))
    assert calls == ["a", "b", "c"]  # a and c came from disk
    cache.get("b", loader_of(1, calls, "b"))
    assert calls == ["a", "b", "c", "b"]  # b was evicted: loaded again


def test_disk_tier_keeps_entries_of_volumes_in_memory(tmp_path) -> None:
    directory, calls = tmp_path / "c", []
    cache = VolumeCache(directory, max_bytes=1 << 20, disk_max_bytes=_entry_bytes(tmp_path))
    for key in "ab":
        cache.get(key, loader_of(1, calls, key))
        cache.flush()
    assert ("a" in cache, "b" in cache) == (True, True)
    assert _on_disk(directory) == 2  # both in use, though the bound fits only one


def test_volume_larger_than_the_disk_bound_is_served_but_not_written(tmp_path) -> None:
    cache, calls = VolumeCache(tmp_path, max_bytes=1 << 20, disk_max_bytes=1000), []
    assert cache.get("big", loader_of(3, calls, "big")).pixels.nbytes == 1600
    cache.flush()
    assert list(tmp_path.iterdir()) == [] and "big" in cache


def test_in_memory_answers_from_memory_only(tmp_path) -> None:
    calls: list[str] = []
    first = VolumeCache(tmp_path, max_bytes=1 << 20)
    assert first.in_memory("a") is None
    volume = first.get("a", loader_of(1, calls, "a"))
    assert first.in_memory("a") is volume
    first.flush()
    restarted = VolumeCache(tmp_path, max_bytes=1 << 20)
    assert restarted.in_memory("a") is None  # on disk only: not read from there
    assert "a" not in restarted and calls == ["a"]
