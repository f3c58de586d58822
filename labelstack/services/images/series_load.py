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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, select

from labelstack.db.models import Instance, Series
from labelstack.db.queries import driver_rows
from labelstack.db.session import session_scope
from labelstack.imaging.dataset import Dataset
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import Plane, orientation_map
from labelstack.imaging.stored import FrameHead, frame_length
from labelstack.imaging.volume import Volume, volume_from_datasets
from labelstack.services.brief_cache import BriefCache, written
from labelstack.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from labelstack.services.images import runtime
from labelstack.services.images.shape import (
    Instances,
    KeptStack,
    Opening,
    current_instances_of_uid,
    opening_of,
    save_stack_order,
    stack_order,
)
from labelstack.stores import StoreError
from labelstack.stores.base import Progress

LOADERS = 2  # series decoded at once; more only share the same two cores
DECODE_SHARE = 0.1  # of the progress bar: reading is the rest
URGENT_WAIT_SECONDS = 5.0  # the longest a load waits for slices requested alone


class Indexed:
    """What the index says a series is made of, read once per request burst: its store and
    the name of its current set of instances and its opening slice, from one row; the
    instances' store keys when asked (`keys`), from the kept stack of that set, else from the
    index."""

    __slots__ = ("series_uid", "store", "key", "opening", "_keys", "_stack")

    def __init__(self, series_uid: str, store: str, key: str, opening: Opening | None = None,
                 keys: tuple[str, ...] | None = None) -> None:
        self.series_uid, self.store = series_uid, store
        self.key = key  # `runtime.content_key` of the instances: the caches' name for them
        self.opening = opening  # the kept opening slice of this set, if any
        self._keys = keys
        self._stack: KeptStack | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """In viewer order (404 when the series has no instances)."""
        if self._keys is None:
            kept = self.kept_stack()
            self._keys = kept.keys if kept is not None else _indexed_keys(self)
        return self._keys

    def kept_stack(self) -> KeptStack | None:
        """What was kept for this set of instances (`shape.stack_order`), read once: the keys
        and the load's slices come from the same file."""
        if self._stack is None:
            self._stack = stack_order(self.key)
        return self._stack


_indexed: BriefCache[str, Indexed] = BriefCache(Series.__tablename__, Instance.__tablename__)
# Every view opens with this read: one row, one round trip, compiled once.
_INDEX_ROW = select(Series.store, Series.instance_set, Series.opening) \
    .where(Series.series_uid == bindparam("uid"))


def indexed(session: Session, series_uid: str) -> Indexed:
    """The series' store and set of instances (404 when it is not indexed or has never had
    an instance)."""
    def load() -> Indexed:
        session.flush()  # as the ORM's autoflush would: instances added in this session count
        rows = driver_rows(session, _INDEX_ROW, {"uid": series_uid})
        if not rows:
            raise NotFound(f"no series {series_uid} in the index")
        store, instance_set, opening = rows[0]
        if not instance_set:
            raise NotFound(f"series {series_uid} has no instances")
        key = runtime.content_key(series_uid, instance_set)
        keys = None
        if written(session) & {Series.__tablename__, Instance.__tablename__}:
            # this session changed the index: its keys are only to be read through it
            current = current_instances_of_uid(session, series_uid)
            key = current.key
            keys = _keys_of(series_uid, key, current)
        return Indexed(series_uid, store, key, opening_of(opening, key), keys)

    return _indexed.get(series_uid, load)


def _indexed_keys(item: Indexed) -> tuple[str, ...]:
    """The keys of the set of instances `item` names, from the index; a set that changed
    since `item` was read is a 409 (open it again), not another set under its name."""
    with session_scope() as session:
        return _keys_of(item.series_uid, item.key, current_instances_of_uid(session, item.series_uid))


def _keys_of(series_uid: str, key: str, current: Instances) -> tuple[str, ...]:
    """The keys of `current`, if it is the set named `key`."""
    if not current.key:
        raise NotFound(f"no series {series_uid} in the index")
    if current.key != key:
        raise Conflict(f"series {series_uid} changed while it was being opened: open it again")
    if not current.keys:
        raise NotFound(f"series {series_uid} has no instances")
    return tuple(current.keys)


def known_indexed(series_uid: str) -> Indexed | None:
    """`indexed` when a fresh answer is held, else None (no database read)."""
    return _indexed.peek(series_uid)


def read(item: Indexed, keys: list[str] | tuple[str, ...]) -> list[Dataset]:
    """Instances of the series from its store; a store that fails is a 409 with its reason."""
    try:
        return runtime.store(item.store).read(keys)
    except StoreError as exc:
        raise Conflict(str(exc)) from None


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One slice's stored bytes, in `syntax` (None: the head's), and its head."""

    data: bytes
    syntax: str | None
    head: FrameHead


def _shown_as_stored(orientation: Sequence[float]) -> bool:
    """Whether the axial view shows a file of this orientation as stored: not turned or
    mirrored (else only the whole volume knows how)."""
    mapping = orientation_map(tuple(orientation), Plane.axial)
    return mapping.axes == (0, 1, 2) and not any(mapping.flips)


class SeriesLoad:
    """One load of one set of instances; thread-safe."""

    def __init__(self, item: Indexed, volume: Volume | None = None) -> None:
        self.item = item
        self._read = 0
        self._volume = volume
        self._error: ServiceError | None = None
        self._done = threading.Event()
        if volume is not None:
            self._done.set()
        self._stack: KeptStack | None = None
        self._order_lock = threading.Lock()
        self._urgent = 0
        self._urgent_lock = threading.Lock()
        self._resume = threading.Event()
        self._resume.set()

    @property
    def read(self) -> int:
        """Instances read so far."""
        return self.total if self.done else self._read

    @property
    def total(self) -> int:
        """Instances to read (their keys are read only when asked: a first slice needs none)."""
        return len(self.item.keys)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def fraction(self) -> float:
        """How far the load is, 0..1 (1 only once the volume is ready)."""
        if self.done:
            return 1.0
        return (1 - DECODE_SHARE) * self._read / max(self.total, 1)

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
        if self.item.opening is not None:
            return self.item.opening.slices
        stack = self._kept_stack()
        return None if stack is None else len(stack.sources)

    def stored_frame(self, index: int) -> StoredFrame | None:
        """Axial slice `index` as its own stored bytes with its head (`imaging.stored`),
        when the index's opening slice or the kept stack has a head for it, its file holds it
        as shown and the store can read a frame alone; else None. Call it inside `opening`,
        as `slice_alone`."""
        opening = self.item.opening
        if opening is not None and index == opening.index:
            key, frame, head = opening.key, opening.frame, opening.head
        else:
            stack = self._kept_stack()
            if stack is None:
                return None
            last = len(stack.sources) - 1
            if not 0 <= index <= last:
                raise InvalidInput(f"slice index {index} out of range 0..{last} for axial")
            (key, frame), head = stack.slice(index), stack.head(index)
        if head is None or not _shown_as_stored(head["orientation"]):
            return None
        try:
            read = runtime.store(self.item.store).read_frame(
                key, frame, frame_length(head), offset=head["offset"], file_size=head["file_size"])
        except StoreError as exc:
            raise Conflict(str(exc)) from None
        return None if read is None else StoredFrame(data=read[0], syntax=read[1], head=head)

    def slice_alone(self, index: int) -> Volume | None:
        """Axial slice `index` of the volume-to-be as a one-slice volume decoded from its own
        instance; None when no axial slice has an instance of its own as it is shown
        (multi-frame, slices acquired in another plane so that an axial one cuts across them,
        or rows and columns the axial view turns). Call it inside `opening`, so that the load
        waits meanwhile."""
        stack = self._kept_stack()
        if stack is None:
            return None
        last = len(stack.sources) - 1
        alone = self._decode(stack.slice(min(max(index, 0), last))[0])
        if not _shown_as_stored(alone.orientation):
            return None
        if not 0 <= index <= last:
            raise InvalidInput(f"slice index {index} out of range 0..{last} for axial")
        return alone

    def _decode(self, key: str) -> Volume:
        try:
            return volume_from_datasets(read(self.item, [key]))
        except ImagingError as exc:
            raise Conflict(f"series {self.item.series_uid} cannot be displayed: {exc}") from None

    def _kept_stack(self) -> KeptStack | None:
        """Which instance each slice comes from: as indexed (`shape.stack_order`), else from
        every header (kept for the next time); None for a stack of frames of multi-frame
        instances, which loads as a whole."""
        with self._order_lock:
            if self._stack is None:
                self._stack = self.item.kept_stack()
            if self._stack is None:
                try:
                    headers = runtime.store(self.item.store).read_headers(self.item.keys)
                    self._stack = save_stack_order(self.item.key, self.item.keys, headers)
                except StoreError as exc:
                    raise Conflict(str(exc)) from None
                except ImagingError as exc:
                    raise Conflict(f"series {self.item.series_uid} cannot be displayed: "
                                   f"{exc}") from None
        return self._stack if self._stack.one_instance_a_slice else None

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
        self._read = count
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
    else the one already running, else a new one in the background. The instances' keys are
    read here, in the caller's thread: a progress bar polling `total` from an event loop
    must not be the one to read them."""
    load = _start(item, paused=False)
    _ = load.item.keys  # the load's own item: a running one may have been started by another
    return load


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
