"""The door from pydicom to geometry: one plain ``FrameInfo`` per frame of every instance.

Classic single-frame images, enhanced multi-frame (per-frame functional groups), multi-frame
dose grids (GridFrameOffsetVector) and cines all become the same record, so grouping and
sorting in ``volume.py`` never look at a Dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypedDict

import numpy as np
import pydicom
from pydicom.pixels.utils import get_nr_frames

Vec3 = tuple[float, float, float]

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
ASSUMED_AXIAL = ("no usable ImageOrientationPatient: the slices are assumed axial "
                 "(1\\0\\0\\0\\1\\0) and stacked by ImagePositionPatient")
COSINE_TOLERANCE = 1e-2  # direction cosines: unit length and orthogonal within this
MAX_MM = 1e6  # a position or spacing beyond a kilometre is a broken value, not geometry


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
    notes: tuple[str, ...] = ()  # defaults the header needed (the volume shows them as warnings)


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
    orientation = _orientation(ds.get("ImageOrientationPatient"))
    position = _vec3(ds.get("ImagePositionPatient"))
    spacing = _spacing(ds)
    window = _window(ds)
    thickness = _length(ds.get("SliceThickness"))
    offsets = _floats(ds.get("GridFrameOffsetVector"), n, limit=MAX_MM) if n > 1 else None
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


def assume_axial(infos: list[FrameInfo]) -> list[FrameInfo]:
    """A series none of whose frames has a usable orientation, but whose frames have
    positions (a CT without ImageOrientationPatient): its positioned frames are taken as
    axial, with a note saying so, and stack by position. Where some frames have an
    orientation, those without stay separate images, as before."""
    if any(info.orientation is not None for info in infos):
        return infos
    return [replace(info, orientation=AXIAL, notes=(*info.notes, ASSUMED_AXIAL))
            if info.position is not None else info for info in infos]


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
        orientation=_orientation(item("PlaneOrientationSequence").get("ImageOrientationPatient")),
        pixel_spacing=_pair(measures.get("PixelSpacing")) or (1.0, 1.0),
        thickness=_length(measures.get("SliceThickness")),
        window=_window(item("FrameVOILUTSequence")),
        **own,
    )


def _spacing(ds: pydicom.Dataset) -> tuple[float, float]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        value = _pair(ds.get(keyword))
        if value:
            return value
    return (1.0, 1.0)


def _orientation(value: Any) -> tuple[float, ...] | None:
    """Six direction cosines: two unit vectors at right angles (within COSINE_TOLERANCE),
    else None: a zero or repeated vector has no slice normal to sort along."""
    cosines = _floats(value, 6)
    if cosines is None:
        return None
    row, col = np.asarray(cosines[:3]), np.asarray(cosines[3:])
    unit = all(abs(float(np.linalg.norm(v)) - 1) < COSINE_TOLERANCE for v in (row, col))
    return cosines if unit and abs(float(np.dot(row, col))) < COSINE_TOLERANCE else None


def _length(value: Any) -> float | None:
    """A positive, finite length in mm (a slice thickness), else None."""
    number = _float(value)
    return number if number is not None and 0 < number < MAX_MM else None


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
    """A finite float, else None (NaN or infinity in a tag counts as missing)."""
    try:
        number = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and np.isfinite(number) else None


def _vec3(value: Any) -> Vec3 | None:
    v = _floats(value, 3, limit=MAX_MM)
    return None if v is None else (v[0], v[1], v[2])


def _pair(value: Any) -> tuple[float, float] | None:
    """A pixel spacing: two positive lengths (mm), else None."""
    v = _floats(value, 2, limit=MAX_MM)
    return None if v is None or min(v) <= 0 else (v[0], v[1])


def _floats(value: Any, n: int, *, limit: float = np.inf) -> tuple[float, ...] | None:
    """Exactly ``n`` finite floats no larger than ``limit``, else None (a malformed tag counts
    as missing)."""
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(np.isfinite(v) and abs(v) <= limit for v in out) else None
