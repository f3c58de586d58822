"""A local store that holds a series read back: the way tests see a series "still loading"
as a state they set up, not a race they hope to win. Used by the progressive-open
integration tests and the browser harness `tests/e2e/loading_app.py`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from pydicom import Dataset

from labelstack.stores import LocalStore, StoreError
from labelstack.stores.base import Progress


class HeldStore(LocalStore):
    """Reads a whole series up to `hold_after` instances, then waits for `release`; single
    instances (a slice alone, a thumbnail, tags) pass at once."""

    def __init__(self, root: Path, hold_after: int) -> None:
        super().__init__(root)
        self.hold_after = hold_after
        self.release = threading.Event()
        self.holding = threading.Event()
        self.fail: str | None = None
        self.series_reads = 0

    def read(self, store_keys: Sequence[str], progress: Progress | None = None) -> list[Dataset]:
        if len(store_keys) == 1:
            return super().read(store_keys, progress)
        self.series_reads += 1
        datasets: list[Dataset] = []
        for key in store_keys:
            if len(datasets) == self.hold_after:
                self.holding.set()
                if not self.release.wait(120):
                    raise StoreError("held store: nobody released the read")
                if self.fail:
                    raise StoreError(self.fail)
            datasets += super().read([key])
            if progress is not None:
                progress(len(datasets))
        return datasets
