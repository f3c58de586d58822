"""A series' volume while it loads: read and decoded in the background, with its progress,
and single slices served before it is whole.

Opening a 300-slice series costs seconds (a PACS read, then decoding), but a viewer needs
one slice to start. `start` begins the load (once per set of instances, however many
viewers ask) and returns at once; `SeriesLoad.slice_alone` decodes the instance of one axial
slice by itself, which is what a viewer shows while the rest arrives. Which instance is
slice `z` is known from every instance's header (slices are ordered by position, not by
instance number): the index keeps that order (`shape.stack_order`); a series indexed before
it did has its headers read once (from a DICOMweb server in one metadata request).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from labelstack.db.models import Instance, Series
from labelstack.imaging.dataset import Dataset
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import Plane, orientation_map
from labelstack.imaging.volume import Volume, volume_from_datasets
from labelstack.services.brief_cache import BriefCache
from labelstack.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from labelstack.services.images import runtime
from labelstack.services.images.shape import INSTANCE_ORDER, StackOrder, save_stack_order, stack_order
from labelstack.stores import StoreError
from labelstack.stores.base import Progress

LOADERS = 2  # series decoded at once; more only share the same two cores
DECODE_SHARE = 0.1  # of the progress bar: reading is the rest
URGENT_WAIT_SECONDS = 5.0  # the longest a load waits for slices requested alone


@dataclass(frozen=True, slots=True)
class Indexed:
    """What the index says a series is made of, read once per request burst."""

    series_uid: str
    store: str
    keys: tuple[str, ...]
    key: str  # `runtime.content_key` of the instances: the caches' name for them


_indexed: BriefCache[str, Indexed] = BriefCache(Series.__tablename__, Instance.__tablename__)
# Every view opens with this read: one round trip, built once, rows as plain tuples (the ORM
# and building the statement each time cost more than the query on a 300-instance series).
_INDEX_ROWS = (select(Series.store, Instance.store_key)
               .join(Instance, col(Instance.series_id) == col(Series.id), isouter=True)
               .where(Series.series_uid == bindparam("uid"))
               .order_by(*INSTANCE_ORDER))


def indexed(session: Session, series_uid: str) -> Indexed:
    """The series' store and instance keys (404 when it is not indexed or has no instances)."""
    def load() -> Indexed:
        session.flush()  # as the ORM's autoflush would: instances added in this session count
        rows = session.connection().execute(_INDEX_ROWS, {"uid": series_uid}).all()
        if not rows:
            raise NotFound(f"no series {series_uid} in the index")
        keys = [key for _, key in rows if key is not None]
        if not keys:
            raise NotFound(f"series {series_uid} has no instances")
        return Indexed(series_uid=series_uid, store=rows[0][0], keys=tuple(keys),
                       key=runtime.content_key(series_uid, keys))

    return _indexed.get(series_uid, load)


def known_indexed(series_uid: str) -> Indexed | None:
    """`indexed` when a fresh answer is held, else None (no database read)."""
    return _indexed.peek(series_uid)


def read(item: Indexed, keys: list[str] | tuple[str, ...]) -> list[Dataset]:
    """Instances of the series from its store; a store that fails is a 409 with its reason."""
    try:
        return runtime.store(item.store).read(keys)
    except StoreError as exc:
        raise Conflict(str(exc)) from None


class SeriesLoad:
    """One load of one set of instances; thread-safe."""

    def __init__(self, item: Indexed, volume: Volume | None = None) -> None:
        self.item = item
        self.total = len(item.keys)
        self.read = self.total if volume is not None else 0
        self._volume = volume
        self._error: ServiceError | None = None
        self._done = threading.Event()
        if volume is not None:
            self._done.set()
        self._order: StackOrder | None = None
        self._order_lock = threading.Lock()
        self._urgent = 0
        self._urgent_lock = threading.Lock()
        self._resume = threading.Event()
        self._resume.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def fraction(self) -> float:
        """How far the load is, 0..1 (1 only once the volume is ready)."""
        if self.done:
            return 1.0
        return (1 - DECODE_SHARE) * self.read / max(self.total, 1)

    def wait(self, timeout: float | None = None) -> Volume | None:
        """The volume, waiting for it (None when `timeout` passed first); the load's
        failure is raised to every waiter."""
        if not self._done.wait(timeout):
            return None
        if self._error is not None:
            raise self._error
        assert self._volume is not None
        return self._volume

    def stack_size(self) -> int | None:
        """Slices of the main stack (None: a multi-frame series, which loads as a whole)."""
        order = self._stack_order()
        return None if order is None else len(order)

    def slice_alone(self, index: int) -> Volume | None:
        """Axial slice `index` of the volume-to-be as a one-slice volume decoded from its own
        instance; None when no axial slice has an instance of its own as it is shown
        (multi-frame, slices acquired in another plane so that an axial one cuts across them,
        or rows and columns the axial view turns). Call it inside `opening`, so that the load
        waits meanwhile."""
        order = self._stack_order()
        if order is None:
            return None
        last = len(order) - 1
        alone = self._decode(order[min(max(index, 0), last)][0])
        mapping = orientation_map(alone.orientation, Plane.axial)
        if mapping.axes != (0, 1, 2) or any(mapping.flips):
            return None  # shown turned or mirrored: only the whole volume knows how
        if not 0 <= index <= last:
            raise InvalidInput(f"slice index {index} out of range 0..{last} for axial")
        return alone

    def _decode(self, key: str) -> Volume:
        try:
            return volume_from_datasets(read(self.item, [key]))
        except ImagingError as exc:
            raise Conflict(f"series {self.item.series_uid} cannot be displayed: {exc}") from None

    def _stack_order(self) -> StackOrder | None:
        """Which instance each slice comes from: as indexed (`shape.stack_order`), else from
        every header (kept for the next time)."""
        with self._order_lock:
            if self._order is None:
                self._order = stack_order(self.item.key, self.item.keys)
            if self._order is None:
                try:
                    headers = runtime.store(self.item.store).read_headers(self.item.keys)
                    self._order = save_stack_order(self.item.series_uid, self.item.keys, headers)
                except StoreError as exc:
                    raise Conflict(str(exc)) from None
                except ImagingError as exc:
                    raise Conflict(f"series {self.item.series_uid} cannot be displayed: "
                                   f"{exc}") from None
        order = self._order
        if any(frame for _, frame in order) or len({key for key, _ in order}) != len(order):
            return None
        return order

    def _give_way(self, change: int) -> None:
        """One more (+1) or one fewer (-1) slice requested alone is being served: the load
        pauses at its next instance while any is (on two cores it would slow them ~10x)."""
        with self._urgent_lock:
            self._urgent += change
            if self._urgent:
                self._resume.clear()
            else:
                self._resume.set()

    def _progress(self, count: int) -> None:
        """Told by the store after each instance: also where the load gives way."""
        self.read = count
        self._resume.wait(URGENT_WAIT_SECONDS)

    def _run(self, cache_key: tuple[int, str]) -> None:
        self._resume.wait(URGENT_WAIT_SECONDS)
        try:
            self._volume = runtime.volume_cache().get(self.item.key,
                                                      lambda: _decode(self.item, self._progress))
        except ImagingError as exc:
            self._error = Conflict(f"series {self.item.series_uid} cannot be displayed: {exc}")
        except ServiceError as exc:
            self._error = exc
        except Exception as exc:  # noqa: BLE001  (reported to every waiter, not lost in a thread)
            self._error = Conflict(f"series {self.item.series_uid} could not be loaded: "
                                   f"{type(exc).__name__}: {exc}")
        finally:
            with _lock:
                _loads.pop(cache_key, None)
            self._done.set()


def _decode(item: Indexed, progress: Progress | None = None) -> Volume:
    try:
        datasets = runtime.store(item.store).read(item.keys, progress)
    except StoreError as exc:
        raise Conflict(str(exc)) from None
    return volume_from_datasets(datasets)


_loads: dict[tuple[int, str], SeriesLoad] = {}
_lock = threading.Lock()
_pool = ThreadPoolExecutor(LOADERS, thread_name_prefix="series-load")


def start(item: Indexed) -> SeriesLoad:
    """The load of this set of instances: finished at once when the volume is in memory,
    else the one already running, else a new one in the background."""
    return _start(item, paused=False)


@contextmanager
def opening(item: Indexed) -> Iterator[SeriesLoad]:
    """`start`, with the load paused until the block ends: a new load does not even begin
    reading before the slice asked for is served."""
    load = _start(item, paused=True)
    try:
        yield load
    finally:
        load._give_way(-1)


def _start(item: Indexed, *, paused: bool) -> SeriesLoad:
    cache = runtime.volume_cache()
    if item.key in cache:  # in memory: `get` answers without loading (unless evicted now)
        load = SeriesLoad(item, cache.get(item.key, lambda: _decode(item)))
    else:
        cache_key = (id(cache), item.key)  # a new cache (settings) starts its own loads
        with _lock:
            running = _loads.get(cache_key)
            if running is None:
                load = _loads[cache_key] = SeriesLoad(item)
                if paused:
                    load._give_way(+1)
                    paused = False
                _pool.submit(load._run, cache_key)
            else:
                load = running
    if paused:
        load._give_way(+1)
    return load
