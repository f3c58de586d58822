"""Encoded frames kept by what was asked for: a viewer scrolling back and forth through a
series asks for the same frames again and again, and a kept frame answers in microseconds
where rendering it again costs half a millisecond of CPU.

Frames are kept per volume, under the name the caller gives it (the content key of its
instances), and within it by everything else that decides their bytes (plane, slice, window,
table, format). A volume's pixels do not change under its name while it is indexed; when it
leaves the index its frames are `forget`-ed, since a series sent again with the same UIDs
gets the same name. Least recently used frames go first once `max_bytes` is reached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class FrameCache:
    """Thread-safe; two requests racing for one new frame may both render it, once each."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[tuple[str, Hashable], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, volume: str, frame: Hashable, render: Callable[[], bytes]) -> bytes:
        """The frame kept for (`volume`, `frame`), else `render()` (kept unless larger than
        the bound; an exception is raised to the caller and nothing is kept)."""
        key = (volume, frame)
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

    def forget(self, volume: str) -> None:
        """Drop every frame of `volume` (it left the index)."""
        with self._lock:
            for key in [key for key in self._frames if key[0] == volume]:
                self._bytes -= len(self._frames.pop(key))

    def __len__(self) -> int:
        return len(self._frames)
