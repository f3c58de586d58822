"""The door from pydicom to geometry: one plain ``FrameInfo`` per frame of every instance.

Classic single-frame images, enhanced multi-frame (per-frame functional groups), multi-frame
dose grids (GridFrameOffsetVector) and cines all become the same record, so grouping and
sorting in ``volume.py`` never look at a Dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pydicom
from pydicom.pixels.utils import get_nr_frames

Vec3 = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class FrameInfo:
    source: int  # index of the dataset in the series
    frame: int  # frame index inside that dataset
    rows: int
    cols: int
    colour: bool  # decoded as RGB (RGB, YBR_*, PALETTE COLOR)
    photometric: str  # MONOCHROME1 | MONOCHROME2 | RGB
    position: Vec3 | None  # ImagePositionPatient of this frame
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float]  # (row spacing dy, column spacing dx) mm
    thickness: float | None
    window: tuple[float, float] | None
    localizer: bool
    instance: int


class _Common(TypedDict):
    """The FrameInfo fields every frame of one instance shares."""

    source: int
    rows: int
    cols: int
    colour: bool
    photometric: str
    localizer: bool
    instance: int


def frame_infos(ds: pydicom.Dataset, source: int) -> list[FrameInfo]:
    """Geometry of every frame of ``ds``; frames without a position get ``position=None``."""
    n = get_nr_frames(ds, warn=False)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    colour = int(ds.get("SamplesPerPixel", 1)) == 3 or photometric == "PALETTE COLOR"
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    common = _Common(
        source=source,
        rows=int(ds.Rows),
        cols=int(ds.Columns),
        colour=colour,
        photometric="RGB" if colour else ("MONOCHROME1" if photometric == "MONOCHROME1" else "MONOCHROME2"),
        localizer="LOCALIZER" in image_type,
        instance=int(ds.get("InstanceNumber") or 0),
    )
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None:
        shared = (ds.get("SharedFunctionalGroupsSequence") or [pydicom.Dataset()])[0]
        return [
            _enhanced(common, k, per_frame[k] if k < len(per_frame) else pydicom.Dataset(), shared)
            for k in range(n)
        ]
    orientation = _floats(ds.get("ImageOrientationPatient"), 6)
    position = _vec3(ds.get("ImagePositionPatient"))
    spacing = _spacing(ds)
    window = _window(ds)
    thickness = _float(ds.get("SliceThickness"))
    offsets = _floats(ds.get("GridFrameOffsetVector"), n) if n > 1 else None
    if n > 1 and not (offsets and position and orientation):
        position = None  # a cine or frame stack: frames share one plane
    out = []
    for k in range(n):
        pos = position
        if offsets and position and orientation:
            pos = _vec3(np.add(position, offsets[k] * slice_normal(orientation)))
        out.append(
            FrameInfo(
                frame=k,
                position=pos,
                orientation=orientation,
                pixel_spacing=spacing,
                thickness=thickness,
                window=window,
                **common,
            )
        )
    return out


def slice_normal(orientation: tuple[float, ...]) -> np.ndarray:
    """Unit normal of the image plane: row cosine × column cosine (DICOM patient LPS)."""
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:6], float)
    normal = np.cross(row, col)
    return normal / np.linalg.norm(normal)


def _enhanced(common: _Common, k: int, frame: pydicom.Dataset, shared: pydicom.Dataset) -> FrameInfo:
    def item(keyword: str) -> pydicom.Dataset:
        for group in (frame, shared):
            seq = group.get(keyword)
            if seq:
                return seq[0]
        return pydicom.Dataset()

    measures = item("PixelMeasuresSequence")
    frame_type = [
        str(v).upper()
        for v in (
            item("CTImageFrameTypeSequence").get("FrameType")
            or item("MRImageFrameTypeSequence").get("FrameType")
            or []
        )
    ]
    own = common.copy()
    own["localizer"] = common["localizer"] or "LOCALIZER" in frame_type
    return FrameInfo(
        frame=k,
        position=_vec3(item("PlanePositionSequence").get("ImagePositionPatient")),
        orientation=_floats(item("PlaneOrientationSequence").get("ImageOrientationPatient"), 6),
        pixel_spacing=_pair(measures.get("PixelSpacing")) or (1.0, 1.0),
        thickness=_float(measures.get("SliceThickness")),
        window=_window(item("FrameVOILUTSequence")),
        **own,
    )


def _spacing(ds: pydicom.Dataset) -> tuple[float, float]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        value = _pair(ds.get(keyword))
        if value and min(value) > 0:
            return value
    return (1.0, 1.0)


def _window(ds: pydicom.Dataset) -> tuple[float, float] | None:
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None or width <= 0:
        return None
    return (center, width)


def _first(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        value = value[0] if len(value) else None
    return _float(value)


def _float(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _vec3(value: Any) -> Vec3 | None:
    v = _floats(value, 3)
    return None if v is None else (v[0], v[1], v[2])


def _pair(value: Any) -> tuple[float, float] | None:
    v = _floats(value, 2)
    return None if v is None else (v[0], v[1])


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    """Exactly ``n`` finite floats, else None (a malformed tag counts as missing)."""
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(np.isfinite(out)) else None
