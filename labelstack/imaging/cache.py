"""Decoded volumes cached in memory (LRU, bounded by bytes) and on disk (.npy + .json, LRU by
last use, bounded by bytes after each write).

Disk entries are memory-mapped on reload, so reopening a series after a restart costs a
file open, not a decode. The disk copy is written by a background thread (a 512x512x300
float32 volume is 300 MB: seconds of I/O the first viewer should not wait for); ``flush``
waits for it. Cached pixels are read-only: every viewer of a series shares them.

The disk tier is trimmed after each write, least recently used first (an entry's mtime is
its last use: set when written and when reloaded, since atime is often not kept). Entries
of volumes held in memory are in use and stay, so the disk may exceed its bound by at most
what memory holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from functools import partial
from pathlib import Path

import numpy as np

from labelstack.imaging.volume import Volume

CACHE_FORMAT = 3  # bump when the on-disk layout or the decoding semantics change (3: exact colour)


class VolumeCache:
    """Thread-safe; concurrent ``get`` calls for one key run its loader once."""

    def __init__(self, directory: Path, max_bytes: int, disk_max_bytes: int | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.disk_max_bytes = disk_max_bytes  # None: unbounded
        self._memory: OrderedDict[str, Volume] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="volume-cache-writer")
        self._pending: dict[str, Future] = {}

    def get(self, key: str, loader: Callable[[], Volume]) -> Volume:
        """The cached volume for ``key``: memory, else disk, else ``loader()`` (then stored)."""
        volume = self._from_memory(key)
        if volume is not None:
            return volume
        with self._key_lock(key):
            volume = self._from_memory(key) or self._from_disk(key)
            if volume is None:
                volume = loader()
                volume.pixels.flags.writeable = False
                self._pending[key] = future = self._writer.submit(self._to_disk, key, volume)
                future.add_done_callback(partial(self._forget_pending, key))
            self._remember(key, volume)
            return volume

    def in_memory(self, key: str) -> Volume | None:
        """The volume if the memory tier holds it, else None: never reads the disk or loads."""
        return self._from_memory(key)

    def invalidate(self, key: str) -> None:
        """Forget ``key`` in memory and on disk (its series left the index)."""
        with self._key_lock(key):
            pending = self._pending.pop(key, None)
            if pending is not None:
                pending.result()
            with self._lock:
                volume = self._memory.pop(key, None)
                if volume is not None:
                    self._bytes -= volume.pixels.nbytes
            for path in self._paths(key):
                path.unlink(missing_ok=True)

    def disk_path(self, key: str) -> Path | None:
        """The committed .npy of ``key`` (after its pending write), for another process to
        memory-map; None when the disk tier does not hold it (too big, a failed write,
        evicted). Touched: used now, so the last to be trimmed."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.result()
        npy, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") != CACHE_FORMAT or meta.get("key") != key:
                return None
            os.utime(npy)
        except (OSError, ValueError):
            return None
        return npy

    def flush(self) -> None:
        """Wait until every volume loaded so far is on disk."""
        for key in list(self._pending):
            pending = self._pending.pop(key, None)
            if pending is not None:
                pending.result()

    @property
    def memory_bytes(self) -> int:
        return self._bytes

    def __contains__(self, key: str) -> bool:
        return key in self._memory

    def _forget_pending(self, key: str, done: Future) -> None:
        if self._pending.get(key) is done:
            self._pending.pop(key, None)

    def _from_memory(self, key: str) -> Volume | None:
        with self._lock:
            volume = self._memory.get(key)
            if volume is not None:
                self._memory.move_to_end(key)
            return volume

    def _remember(self, key: str, volume: Volume) -> None:
        size = volume.pixels.nbytes
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._memory:
                return
            self._memory[key] = volume
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._memory.popitem(last=False)
                self._bytes -= evicted.pixels.nbytes

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _paths(self, key: str) -> tuple[Path, Path]:
        stem = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self.directory / f"{stem}.npy", self.directory / f"{stem}.json"

    def _from_disk(self, key: str) -> Volume | None:
        npy, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            if meta.pop("format", None) != CACHE_FORMAT or meta.pop("key", None) != key:
                return None
            pixels = np.load(npy, mmap_mode="r")
            os.utime(npy)  # used now: last to be evicted from disk
        except (OSError, ValueError):
            return None
        return Volume(pixels=pixels, **_from_json(meta))

    def _to_disk(self, key: str, volume: Volume) -> None:
        """Write pixels, then geometry: the .json is the commit marker, both via atomic rename."""
        if self.disk_max_bytes is not None and volume.pixels.nbytes > self.disk_max_bytes:
            return  # would evict everything else and still not fit
        npy, meta_path = self._paths(key)
        meta = {"format": CACHE_FORMAT, "key": key, **_to_json(volume)}
        tmp_npy, tmp_meta = npy.with_suffix(f".{os.getpid()}.tmp.npy"), meta_path.with_suffix(".tmp")
        try:
            np.save(tmp_npy, volume.pixels)
            os.replace(tmp_npy, npy)
            tmp_meta.write_text(json.dumps(meta))
            os.replace(tmp_meta, meta_path)
        except OSError:
            tmp_npy.unlink(missing_ok=True)  # a full disk must not break viewing
            tmp_meta.unlink(missing_ok=True)
        self._trim_disk(keep=npy.stem)

    def _trim_disk(self, *, keep: str) -> None:
        """Delete least recently used entries until the disk tier fits its bound; the entry
        just written and those of volumes in memory stay."""
        if self.disk_max_bytes is None:
            return
        with self._lock:
            in_use = {self._paths(k)[0].stem for k in self._memory} | {keep}
        entries, total = [], 0
        for npy in self.directory.glob("*.npy"):
            if npy.name.endswith(".tmp.npy"):  # a write in progress
                continue
            meta = npy.with_suffix(".json")
            try:
                stat = npy.stat()
                size = stat.st_size + (meta.stat().st_size if meta.exists() else 0)
            except OSError:  # evicted meanwhile by another process
                continue
            total += size
            entries.append((stat.st_mtime_ns, npy, meta, size))
        for _, npy, meta, size in sorted(entries):
            if total <= self.disk_max_bytes:
                break
            if npy.stem not in in_use:
                meta.unlink(missing_ok=True)  # the commit marker first: readers see a miss
                npy.unlink(missing_ok=True)
                total -= size


def _to_json(volume: Volume) -> dict:
    return {f.name: getattr(volume, f.name) for f in fields(Volume) if f.name != "pixels"}


def _from_json(meta: dict) -> dict:
    for name in ("spacing", "origin", "orientation", "default_window"):
        if meta.get(name) is not None:
            meta[name] = tuple(meta[name])
    return meta
