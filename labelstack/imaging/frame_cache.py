"""Encoded frames kept by what was asked for: a viewer scrolling back and forth through a
series asks for the same frames again and again, and a kept frame answers in microseconds
where rendering it again costs half a millisecond of CPU.

The caller names a frame by everything that decides its bytes (the volume's content key,
plane, slice, window, table, format); a volume's content never changes under its key, so no
entry is ever stale. Least recently used frames go first once `max_bytes` is reached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class FrameCache:
    """Thread-safe; two requests racing for one new frame may both render it, once each."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The frame kept for `key`, else `render()` (kept unless larger than the bound;
        an exception is raised to the caller and nothing is kept)."""
        with self._lock:
            found = self._frames.get(key)
            if found is not None:
                self._frames.move_to_end(key)
                return found
        data = render()
        if len(data) <= self.max_bytes:
            with self._lock:
                if key not in self._frames:
                    self._frames[key] = data
                    self._bytes += len(data)
                while self._bytes > self.max_bytes:
                    _, dropped = self._frames.popitem(last=False)
                    self._bytes -= len(dropped)
        return data

    def __len__(self) -> int:
        return len(self._frames)
