"""Looking at indexed series: the cached volume, its geometry, rendered slices, thumbnails
and DICOM tags. Each view takes the acting user and checks the view rule itself
(`access.readable_series`), so no caller can forget it; what they may *change* is decided
elsewhere.

Everything here blocks (store reads, decoding, encoding): call it from plain `def`
routes or `run.io_bound`, never inline in an async handler; `render_ready` is the one
exception (memory only, ≈ 0.6 ms of CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from labelstack.db.models import User
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import PLANES, Plane, display_aspect, slice_count, stack_position
from labelstack.imaging.render import render_slice
from labelstack.imaging.render import thumbnail as render_thumbnail
from labelstack.imaging.stored import render_stored
from labelstack.imaging.tags import tag_rows
from labelstack.imaging.volume import Volume, volume_from_datasets
from labelstack.imaging.window import default_window
from labelstack.services.errors import Conflict, InvalidInput
from labelstack.services.images import runtime, series_load
from labelstack.services.images.access import known_series_reader, readable_series
from labelstack.services.images.catalog import series_row
from labelstack.services.images.index import SeriesRow
from labelstack.services.images.series_load import SeriesLoad


@dataclass(kw_only=True, slots=True)
class Geometry:
    kind: str
    shape: list[int]
    spacing: list[float]
    origin: list[float]
    orientation: list[float]
    frames: int
    slices: dict[str, int]
    aspect: dict[str, float]
    default_window: list[float]
    photometric: str
    frame_time_ms: float | None
    warnings: list[str]


def open_volume(session: Session, *, actor: User, series_uid: str) -> Volume:
    """The series' main stack, for a user who may view it (see `load_volume`)."""
    return _whole(open_load(session, actor=actor, series_uid=series_uid))


def open_load(session: Session, *, actor: User, series_uid: str) -> SeriesLoad:
    """The series' main stack loading in the background, for a user who may view it: the
    viewer shows its first slice and the progress while it arrives."""
    return series_load.start(readable_series(session, actor=actor, series_uid=series_uid))


def open_series(session: Session, *, actor: User, series_uid: str) -> tuple[SeriesRow, SeriesLoad]:
    """The index row and the load of the series (`open_load`), without waiting for it."""
    load = open_load(session, actor=actor, series_uid=series_uid)
    return series_row(session, series_uid), load


def start_load(session: Session, series_uid: str) -> SeriesLoad:
    """`open_load` without the permission check (for services and pages that checked their own
    rule first)."""
    return series_load.start(series_load.indexed(session, series_uid))


INCOMPLETE = ("incomplete series: an import of it did not finish, so instances may be "
              "missing; import the series again to complete it")


def describe(session: Session, *, actor: User, series_uid: str) -> tuple[SeriesRow, Geometry]:
    """The index row and the volume geometry (decodes the series on first use); the
    geometry's warnings say so when the series is `incomplete`."""
    shape = geometry(open_volume(session, actor=actor, series_uid=series_uid))
    row = series_row(session, series_uid)
    if row.incomplete:
        shape.warnings.insert(0, INCOMPLETE)
    return row, shape


def load_volume(session: Session, series_uid: str) -> Volume:
    """The series' main stack: from memory, else the disk cache, else decoded from the store
    (waiting for the load); no permission check (for services that checked their own rule
    first).

    The cache key names the set of instances, so a series that grew, or was dropped and
    indexed again with other instances, is decoded afresh, even when another process (the
    CLI) changed it.
    """
    return _whole(start_load(session, series_uid))


def _whole(load: SeriesLoad) -> Volume:
    volume = load.wait()
    assert volume is not None  # no timeout
    return volume


def geometry(volume: Volume) -> Geometry:
    planes = PLANES if volume.kind == "volume" else ("axial",)
    return Geometry(
        kind=volume.kind, shape=list(volume.shape), spacing=list(volume.spacing),
        origin=list(volume.origin), orientation=list(volume.orientation),
        frames=volume.shape[0], slices={p: slice_count(volume, p) for p in planes},
        aspect={p: display_aspect(volume, p) for p in planes},
        default_window=list(default_window(volume)), photometric=volume.photometric,
        frame_time_ms=volume.frame_time_ms, warnings=list(volume.warnings))


def render(session: Session, *, actor: User, series_uid: str, plane: Plane | str = Plane.axial,
           index: int | None = None, center: float | None = None, width: float | None = None,
           invert: bool = False, table: int | None = None, fmt: str = "png") -> bytes:
    """One slice at its native pixel grid; `index=None` is the middle slice; `table` picks
    one of the file's VOI LUT tables (ignored when a window is given).

    While the series is still loading, an axial slice is shown from its own instance: from
    its stored bytes alone where its head allows (`imaging.stored`), else decoded by itself
    (in that instance's default window unless one is given); other planes wait for the
    whole volume.
    """
    if width is not None and width <= 0:
        raise InvalidInput("window width (ww) must be positive")
    item = readable_series(session, actor=actor, series_uid=series_uid)
    with series_load.opening(item) as load:
        if not load.done and Plane(plane) == Plane.axial:  # the load waits for this slice
            size = load.stack_size()
            if size is not None:
                index = size // 2 if index is None else index
                stored = load.stored_frame(index)
                shown = None if stored is None else render_stored(
                    stored.data, stored.head, syntax=stored.syntax, center=center, width=width,
                    invert=invert, table=table, fmt=fmt)
                if shown is not None:
                    return shown
                alone = load.slice_alone(index)
                if alone is not None:
                    return _render(alone, plane, 0, center, width, invert, table, fmt)
    return _render_volume(item.key, _whole(load), plane, index, center, width, invert, table, fmt)


def render_ready(*, actor: User, series_uid: str, plane: Plane | str = Plane.axial,
                 index: int | None = None, center: float | None = None,
                 width: float | None = None, invert: bool = False, table: int | None = None,
                 fmt: str = "png") -> bytes | None:
    """`render`, when everything it needs is already held in memory (a fresh view decision,
    the index entry, the volume in the cache's memory tier); else None, having done no I/O,
    so an event loop may call it and send the request to `render` in a thread on None.
    It only ever answers as `render` would: a refusal is never held, so it is not given here."""
    if width is not None and width <= 0:
        raise InvalidInput("window width (ww) must be positive")
    if not known_series_reader(actor=actor, series_uid=series_uid):
        return None
    item = series_load.known_indexed(series_uid)
    volume = None if item is None else runtime.volume_cache().in_memory(item.key)
    if item is None or volume is None:
        return None
    return _render_volume(item.key, volume, plane, index, center, width, invert, table, fmt)


def _render_volume(key: str, volume: Volume, plane: Plane | str, index: int | None,
                   center: float | None, width: float | None, invert: bool, table: int | None,
                   fmt: str) -> bytes:
    """A frame of the whole volume whose content key is `key`, kept in the frame cache."""
    try:
        index = slice_count(volume, plane) // 2 if index is None else index
    except ImagingError as exc:
        raise InvalidInput(str(exc)) from None
    frame = (plane, index, center, width, invert, table, fmt.lower())  # "axial" is Plane.axial
    return runtime.frame_cache().get(
        key, frame, lambda: _render(volume, plane, index, center, width, invert, table, fmt))


def _render(volume: Volume, plane: Plane | str, index: int, center: float | None,
            width: float | None, invert: bool, table: int | None, fmt: str) -> bytes:
    try:
        if table is not None:
            _check_table(volume, plane, index, table)
        return render_slice(volume, plane, index, center=center, width=width, invert=invert,
                            table=table, fmt=fmt)
    except ImagingError as exc:
        raise InvalidInput(str(exc)) from None


def _check_table(volume: Volume, plane: Plane | str, index: int, table: int) -> None:
    """`render_slice` quietly falls back to the file's own VOI for a table it lacks; a client
    asking for one should hear that it is not there."""
    spec = volume.display
    count = 0
    if spec is not None:
        if not 0 <= index < slice_count(volume, plane):
            return  # render_slice reports the slice out of range
        own = spec["slices"][stack_position(volume, plane, index)]
        count = len(spec["frames"][own]["tables"])
    if table >= count:
        have = f"0..{count - 1}" if count else "none"
        raise InvalidInput(f"VOI LUT table {table} out of range: this image's tables are {have}")


def thumbnail(session: Session, *, actor: User, series_uid: str) -> bytes:
    """A small JPEG of the middle image, decoded from that one instance and kept on disk."""
    item = readable_series(session, actor=actor, series_uid=series_uid)
    path = runtime.thumbnail_path(item.key)
    if path.exists():
        return path.read_bytes()
    try:
        middle = series_load.read(item, [item.keys[len(item.keys) // 2]])
        data = render_thumbnail(volume_from_datasets(middle))
    except ImagingError as exc:
        raise Conflict(f"series {series_uid} cannot be displayed: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def metadata(session: Session, *, actor: User, series_uid: str, index: int = 0) -> dict[str, Any]:
    """The DICOM tags of instance `index` (in index order) as rows for a tag table."""
    item = readable_series(session, actor=actor, series_uid=series_uid)
    keys = item.keys
    if not 0 <= index < len(keys):
        raise InvalidInput(f"instance {index} out of range: this series has 0..{len(keys) - 1}")
    ds = series_load.read(item, [keys[index]])[0]
    return {"series_uid": series_uid, "sop_instance_uid": str(ds.SOPInstanceUID),
            "instance": index, "instances": len(keys), "tags": tag_rows(ds)}
