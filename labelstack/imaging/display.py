"""The DICOM grey-scale display pipeline (PS3.3 C.11): modality values → VOI → presentation → 8 bits.

Volumes hold float32 *modality* values (``decode`` applies the rescale or Modality LUT). Each
frame also keeps a ``FrameSpec``: how its values map back to an integer *domain* (stored values
under a linear rescale, or the outputs of a Modality LUT) and the VOI transforms it carries.
An integer-valued frame is then displayed by one saturating OpenCV pass from modality value to
domain index and one ``np.take`` of a 2^16-entry uint8 table, built (and memoised) by evaluating
the standard's formulas in float64 once per domain value, in the same operation order as
pydicom's ``apply_modality_lut`` + ``apply_voi_lut``; so the pixels equal pydicom's to the level
while costing no float arithmetic per pixel. Frames without an integer domain (float pixel data,
more than 16 stored bits) and reformatted planes across frames with different transforms take
the same formulas per pixel (``voi_values``).

The output range is ymin = 0, ymax = 255 in the formulas of C.11.2.1.2 (LINEAR, LINEAR_EXACT,
SIGMOID), rounded half up: ``floor(y + 0.5)``. A VOI LUT table's output ``v`` (0 … 2^n − 1, n the
third value of its LUT Descriptor) shows as ``floor(v · 255 / (2^n − 1) + 0.5)``. MONOCHROME1
and Presentation LUT Shape INVERSE flip the result (255 − v); a MONOCHROME1 image that declares
INVERSE (as PS3.3 C.8.11.6.1.2 asks) is flipped once: both name the same inversion.

Specs are plain JSON (``TypedDict``s) so the volume cache stores them beside the geometry.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal, TypedDict, cast

import cv2
import numpy as np
import numpy.typing as npt
import pydicom

LINEAR, LINEAR_EXACT, SIGMOID = "LINEAR", "LINEAR_EXACT", "SIGMOID"
FUNCTIONS = (LINEAR, LINEAR_EXACT, SIGMOID)
DOMAIN = 1 << 16  # table entries: every uint16 index is valid, no bounds check per pixel
Y_MAX = 255


class WindowSpec(TypedDict):
    kind: Literal["window"]
    center: float
    width: float
    function: str  # LINEAR | LINEAR_EXACT | SIGMOID
    explanation: str


class TableSpec(TypedDict):
    kind: Literal["table"]
    first: int  # the first input value mapped (LUT Descriptor, second value)
    bits: int  # bits of each output entry (LUT Descriptor, third value)
    data: list[int]
    explanation: str


Voi = WindowSpec | TableSpec


class FrameSpec(TypedDict):
    """Modality value = ``slope · i + intercept`` for the integers ``low ≤ i ≤ high`` (the
    domain); ``low`` is None when the frame's values are not integers in a 2^16 range."""

    slope: float
    intercept: float
    low: int | None
    windows: list[WindowSpec]
    tables: list[TableSpec]


class DisplaySpec(TypedDict):
    frames: list[FrameSpec]  # the distinct specs of a volume
    slices: list[int]  # for each z, its spec's index in ``frames``
    inverse: bool  # MONOCHROME1 or Presentation LUT Shape INVERSE


def window(center: float, width: float, function: str = LINEAR, explanation: str = "") -> WindowSpec:
    return WindowSpec(kind="window", center=float(center), width=float(width),
                      function=function if function in FUNCTIONS else LINEAR, explanation=explanation)


def display_spec(frames: list[FrameSpec], photometric: str, presentation_shape: str) -> DisplaySpec:
    """One volume's spec: each distinct frame spec once, and which one each slice uses."""
    distinct: list[FrameSpec] = []
    slices = []
    for spec in frames:
        if spec not in distinct:
            distinct.append(spec)
        slices.append(distinct.index(spec))
    inverse = photometric == "MONOCHROME1" or presentation_shape.strip().upper() == "INVERSE"
    return DisplaySpec(frames=distinct, slices=slices, inverse=inverse)


def frame_spec(ds: pydicom.Dataset, frame: int = 0) -> FrameSpec:
    """The modality domain and VOI transforms of ``frame``: from the functional groups of an
    enhanced multi-frame (the frame's own item, else the shared one), else from the top level.
    The modality transform follows ``decode``'s reading, so the domain matches the values."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None:
        own = per_frame[frame] if frame < len(per_frame) else pydicom.Dataset()
        shared = (ds.get("SharedFunctionalGroupsSequence") or [pydicom.Dataset()])[0]
        transform = _group_item(own, shared, "PixelValueTransformationSequence")
        voi = _group_item(own, shared, "FrameVOILUTSequence")
        slope, intercept = _rescale(transform)
        low = _stored_low(ds, slope, intercept)
    elif ds.get("ModalityLUTSequence"):
        voi, slope, intercept = ds, 1.0, 0.0
        low = 0 if _lut_bits(ds.ModalityLUTSequence[0]) <= 16 else None
    else:
        voi = ds
        slope, intercept = _rescale(ds)
        low = _stored_low(ds, slope, intercept)
    return FrameSpec(slope=slope, intercept=intercept, low=low, windows=_windows(voi),
                     tables=_tables(voi, ds))


def default_voi(spec: FrameSpec) -> Voi | None:
    """What the file asks to show first: its first VOI LUT table, else its first window
    (pydicom's ``apply_voi_lut`` preference), else None (the viewer picks a window)."""
    if spec["tables"]:
        return spec["tables"][0]
    return spec["windows"][0] if spec["windows"] else None


def choose_voi(own: FrameSpec | None, center: float | None, width: float | None,
               table: int | None, default: Callable[[], tuple[float, float]]) -> Voi:
    """The VOI transform to show: the window asked for, else the table asked for, else the
    frame's own, else the `default` window (LINEAR); a window given by one half completes
    from `default`, with the file's VOI LUT Function. `default` is called only when needed
    (it may look at every pixel)."""
    if center is None and width is None:
        if own is not None and table is not None and 0 <= table < len(own["tables"]):
            return own["tables"][table]
        voi = default_voi(own) if own is not None else None
        if voi is not None:
            return voi
    if center is None or width is None:
        default_center, default_width = default()
        center = default_center if center is None else center
        width = default_width if width is None else width
    function = own["windows"][0]["function"] if own is not None and own["windows"] else LINEAR
    return window(center, width, function)


def display_frame(values: np.ndarray, spec: FrameSpec | None, voi: Voi, inverse: bool) -> np.ndarray:
    """uint8 display values of a 2D array of modality values under ``voi``."""
    if spec is not None and spec["low"] is not None:
        src = np.ascontiguousarray(values, dtype=np.float32)
        index = cv2.addWeighted(src, 1.0 / spec["slope"], src, 0.0,
                                -spec["intercept"] / spec["slope"] - spec["low"], dtype=cv2.CV_16U)
        table = _table(spec["slope"], spec["intercept"], spec["low"], voi_key(voi), inverse)
        # rounded and saturated into the table's 2^16 entries, so "wrap" (no bounds pass) is exact
        return np.take(table, cast(npt.NDArray[np.uint16], index), mode="wrap")
    out = to_uint8(voi_values(np.asarray(values, np.float64), voi))
    return np.subtract(Y_MAX, out, out=out) if inverse else out


def voi_values(x: np.ndarray, voi: Voi) -> np.ndarray:
    """The VOI transform of float64 modality values, as display values in 0 … 255 (float64)."""
    if voi["kind"] == "table":
        return _table_values(x, voi)
    return _window_values(x, voi["center"], voi["width"], voi["function"])


def to_uint8(y: np.ndarray) -> np.ndarray:
    """Round half up (``floor(y + 0.5)``) into 0 … 255."""
    return np.clip(np.floor(y + 0.5), 0, Y_MAX).astype(np.uint8)


def _window_values(x: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """PS3.3 C.11.2.1.2 with ymin = 0, ymax = 255, in pydicom's order of operations. LINEAR
    widths below 1 act as 1 (a threshold at ``center - 0.5``)."""
    if function == SIGMOID:
        return Y_MAX / (1 + np.exp(-4 * (x - center) / width))
    if function == LINEAR:
        center, width = center - 0.5, max(width, 1.0) - 1
    below = x <= (center - width / 2)
    above = x > (center + width / 2)
    y = np.empty_like(x)
    y[below] = 0
    y[above] = Y_MAX
    between = ~(below | above)
    if between.any():
        y[between] = ((x[between] - center) / width + 0.5) * Y_MAX
    return y


def _table_values(x: np.ndarray, table: TableSpec) -> np.ndarray:
    """Inputs below ``first`` take the first entry, beyond the table the last (C.11.2.1.1)."""
    data = np.asarray(table["data"], np.float64)
    index = np.clip(np.trunc(np.where(x >= table["first"], x - table["first"], 0)), 0, len(data) - 1)
    return data[index.astype(np.intp)] * Y_MAX / ((1 << table["bits"]) - 1)


VoiKey = tuple[Any, ...]


def voi_key(voi: Voi) -> VoiKey:
    """`voi` as a hashable key, for the tables memoised by it."""
    if voi["kind"] == "table":
        return ("table", voi["first"], voi["bits"], tuple(voi["data"]))
    return ("window", voi["center"], voi["width"], voi["function"])


@lru_cache(maxsize=64)
def _table(slope: float, intercept: float, low: int, voi: VoiKey, inverse: bool) -> np.ndarray:
    """Display value of each domain index ``i`` (modality value ``(low + i) · slope + intercept``)."""
    x = np.arange(low, low + DOMAIN).astype(np.float64) * slope
    x += intercept
    spec: Voi
    if voi[0] == "table":
        spec = TableSpec(kind="table", first=voi[1], bits=voi[2], data=list(voi[3]), explanation="")
    else:
        spec = window(voi[1], voi[2], voi[3])
    out = to_uint8(voi_values(x, spec))
    if inverse:
        np.subtract(Y_MAX, out, out=out)
    out.flags.writeable = False
    return out


def _group_item(own: pydicom.Dataset, shared: pydicom.Dataset, keyword: str) -> pydicom.Dataset:
    for group in (own, shared):
        seq = group.get(keyword)
        if seq:
            return seq[0]
    return pydicom.Dataset()


def _rescale(ds: pydicom.Dataset) -> tuple[float, float]:
    """As ``decode`` reads it: a missing or zero slope is 1, a missing intercept 0."""
    try:
        return float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    except (TypeError, ValueError):
        return 1.0, 0.0


def _stored_low(ds: pydicom.Dataset, slope: float, intercept: float) -> int | None:
    """The smallest stored value of integer pixel data of at most 16 bits, else None. A header
    read without its pixel data (DICOMweb metadata) has a domain too, unless it says its
    pixels are floats."""
    if any(k in ds for k in _FLOAT_PIXELS) or slope == 0 \
            or not (np.isfinite(slope) and np.isfinite(intercept)):
        return None
    try:
        bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16)
        signed = bool(int(ds.get("PixelRepresentation") or 0))
    except (TypeError, ValueError):
        return None
    if not 1 <= bits <= 16:
        return None
    return -(1 << (bits - 1)) if signed else 0


_FLOAT_PIXELS = ("FloatPixelData", "DoubleFloatPixelData")


def _windows(ds: pydicom.Dataset) -> list[WindowSpec]:
    """Every usable window the item carries, with its explanation (LINEAR needs width ≥ 1,
    the others width > 0)."""
    centers, widths = _values(ds.get("WindowCenter")), _values(ds.get("WindowWidth"))
    explanations = [str(v) for v in _values(ds.get("WindowCenterWidthExplanation"))]
    function = str(ds.get("VOILUTFunction") or LINEAR).strip().upper()
    out = []
    for k, (center, width) in enumerate(zip(centers, widths, strict=False)):
        try:
            c, w = float(center), float(width)
        except (TypeError, ValueError):
            continue
        if np.isfinite(c) and np.isfinite(w) and w >= (1 if function == LINEAR else 0) and w > 0:
            out.append(window(c, w, function, explanations[k] if k < len(explanations) else ""))
    return out


def _tables(item: pydicom.Dataset, ds: pydicom.Dataset) -> list[TableSpec]:
    """Every VOI LUT table of the item whose entries have 8 or 10–16 bits (PS3.3 C.11.2.1.1)."""
    out = []
    for lut in item.get("VOILUTSequence") or []:
        try:
            table = _table_spec(lut, ds)
        except (TypeError, ValueError, KeyError, struct.error):
            continue  # an unreadable table is left out, as if absent
        if table is not None:
            out.append(table)
    return out


def _table_spec(lut: pydicom.Dataset, ds: pydicom.Dataset) -> TableSpec | None:
    descriptor, data = lut.get("LUTDescriptor"), lut.get("LUTData")
    if descriptor is None or data is None or len(descriptor) != 3:
        return None
    entries, first, bits = int(descriptor[0]) or DOMAIN, int(descriptor[1]), int(descriptor[2])
    if bits != 8 and not 10 <= bits <= 16:
        return None
    values = _lut_data(lut, ds, entries)
    if not values:
        return None
    return TableSpec(kind="table", first=first, bits=bits, data=values,
                     explanation=str(lut.get("LUTExplanation") or ""))


def _lut_data(lut: pydicom.Dataset, ds: pydicom.Dataset, entries: int) -> list[int]:
    """LUTData as integers: US values, or OW bytes in the dataset's byte order (as pydicom)."""
    element = lut["LUTData"]
    if element.VR != "OW":
        values = element.value
        return [int(v) for v in (values if isinstance(values, list | tuple | pydicom.multival.MultiValue)
                                 else [values])]
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    little = syntax is None or pydicom.uid.UID(str(syntax)) != pydicom.uid.ExplicitVRBigEndian
    raw = bytes(element.value)
    count = min(entries, len(raw) // 2)
    return list(struct.unpack_from(f"{'<' if little else '>'}{count}H", raw))


def _lut_bits(lut: pydicom.Dataset) -> int:
    descriptor = lut.get("LUTDescriptor") or [0, 0, 16]
    return int(descriptor[2]) if len(descriptor) == 3 else 16


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        return list(value)
    return [value]
