"""Looking at indexed series: the cached volume, its geometry, rendered slices, thumbnails
and DICOM tags. Each view takes the acting user and checks `access.require_series_reader`
itself, so no caller can forget it; what they may *change* is decided elsewhere.

Everything here blocks (store reads, decoding, encoding): call it from plain `def`
routes or `run.io_bound`, never inline in an async handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from pydicom import Dataset
from pydicom.dataelem import DataElement
from sqlmodel import Session, select

from labelstack.db.models import Series, User
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import PLANES, Plane, display_aspect, slice_count
from labelstack.imaging.render import render_slice
from labelstack.imaging.volume import Volume, volume_from_datasets
from labelstack.imaging.window import default_window
from labelstack.services.errors import Conflict, InvalidInput, NotFound
from labelstack.services.images import runtime
from labelstack.services.images.access import require_series_reader
from labelstack.services.images.catalog import series_row
from labelstack.services.images.index import SeriesRow
from labelstack.services.images.shape import content_key, instance_keys
from labelstack.stores import StoreError

THUMBNAIL_SIZE = 128


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
    require_series_reader(session, actor=actor, series_uid=series_uid)
    return load_volume(session, series_uid)


def describe(session: Session, *, actor: User, series_uid: str) -> tuple[SeriesRow, Geometry]:
    """The index row and the volume geometry (decodes the series on first use)."""
    require_series_reader(session, actor=actor, series_uid=series_uid)
    return series_row(session, series_uid), geometry(load_volume(session, series_uid))


def load_volume(session: Session, series_uid: str) -> Volume:
    """The series' main stack: from memory, else the disk cache, else decoded from the store;
    no permission check (for services that checked their own rule first).

    The cache key names the set of instances, so a series that grew, or was dropped and
    indexed again with other instances, is decoded afresh, even when another process (the
    CLI) changed it.
    """
    series, keys = _instances(session, series_uid)

    def load() -> Volume:
        return volume_from_datasets(_read(series, keys))

    try:
        return runtime.volume_cache().get(content_key(series_uid, keys), load)
    except ImagingError as exc:
        raise Conflict(f"series {series_uid} cannot be displayed: {exc}") from None


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
           invert: bool = False, fmt: str = "png") -> bytes:
    """One slice at its native pixel grid; `index=None` is the middle slice."""
    volume = open_volume(session, actor=actor, series_uid=series_uid)
    if width is not None and width <= 0:
        raise InvalidInput("window width (ww) must be positive")
    try:
        if index is None:
            index = slice_count(volume, plane) // 2
        return render_slice(volume, plane, index, center=center, width=width, invert=invert,
                            fmt=fmt)
    except ImagingError as exc:
        raise InvalidInput(str(exc)) from None


def thumbnail(session: Session, *, actor: User, series_uid: str) -> bytes:
    """A small JPEG of the middle image, decoded from that one instance and kept on disk."""
    require_series_reader(session, actor=actor, series_uid=series_uid)
    series, keys = _instances(session, series_uid)
    path = runtime.thumbnail_path(content_key(series_uid, keys))
    if path.exists():
        return path.read_bytes()
    try:
        volume = volume_from_datasets(_read(series, [keys[len(keys) // 2]]))
        png = render_slice(volume, "axial", volume.shape[0] // 2, fmt="png")
    except ImagingError as exc:
        raise Conflict(f"series {series_uid} cannot be displayed: {exc}") from None
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    scale = THUMBNAIL_SIZE / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def metadata(session: Session, *, actor: User, series_uid: str, index: int = 0) -> dict[str, Any]:
    """The DICOM tags of instance `index` (in index order) as rows for a tag table."""
    require_series_reader(session, actor=actor, series_uid=series_uid)
    series, keys = _instances(session, series_uid)
    if not 0 <= index < len(keys):
        raise InvalidInput(f"instance {index} out of range: this series has 0..{len(keys) - 1}")
    ds = _read(series, [keys[index]])[0]
    rows: list[dict[str, str]] = []
    meta = getattr(ds, "file_meta", None)
    for source in ([meta] if meta is not None else []) + [ds]:
        _tag_rows(source, rows, depth=0)
    return {"series_uid": series_uid, "sop_instance_uid": str(ds.SOPInstanceUID),
            "instance": index, "instances": len(keys), "tags": rows}


def _instances(session: Session, series_uid: str) -> tuple[Series, list[str]]:
    series = session.exec(select(Series).where(Series.series_uid == series_uid)).first()
    if series is None:
        raise NotFound(f"no series {series_uid} in the index")
    keys = instance_keys(session, series.id)
    if not keys:
        raise NotFound(f"series {series_uid} has no instances")
    return series, keys


def _read(series: Series, keys: list[str]) -> list[Dataset]:
    try:
        return runtime.store(series.store).read(keys)
    except StoreError as exc:
        raise Conflict(str(exc)) from None


def _tag_rows(ds: Dataset, rows: list[dict[str, str]], depth: int) -> None:
    for element in ds:
        rows.append({"tag": f"({element.tag.group:04X},{element.tag.element:04X})",
                     "keyword": element.keyword or "", "vr": element.VR,
                     "value": _value(element), "depth": str(depth)})
        if element.VR == "SQ":
            for item in element.value:
                _tag_rows(item, rows, depth + 1)


def _value(element: DataElement) -> str:
    if element.VR == "SQ":
        return f"<{len(element.value)} item(s)>"
    if element.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN") or element.tag == 0x7FE00010:
        length = len(element.value) if element.value is not None else 0
        return f"<{length} bytes>"
    text = str(element.value)
    return text if len(text) <= 200 else text[:197] + "..."
