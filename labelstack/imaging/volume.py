"""A series becomes volumes: sorted along the slice normal, split where stacking would lie.

Grouping keys are size, colour, orientation, pixel spacing and the localizer flag; within a
group slices are ordered by their position along the normal (never by instance number or
file name). Frames without a position (radiographs, cines) stay per instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pydicom

from labelstack.imaging.decode import decode_frames
from labelstack.imaging.display import DisplaySpec, FrameSpec, display_spec, frame_spec
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.frames import FrameInfo, Vec3, assume_axial, frame_infos, slice_normal

__all__ = ["ImagingError", "Volume", "main_stack_frames", "main_stack_shape", "volume_from_datasets",
           "volumes_from_datasets"]

ORIENTATION_TOLERANCE = 1e-3  # direction cosines; scanners round to ~6 digits
POSITION_TOLERANCE_MM = 0.01  # slices closer than this along the normal are duplicates
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass(kw_only=True, slots=True)
class Volume:
    """Pixels ``(z, y, x)`` float32 modality values, or ``(z, y, x, 3)`` uint8 RGB, with geometry.

    ``photometric`` is MONOCHROME1 (values as stored; display inverts), MONOCHROME2 or RGB.
    ``display`` (monochrome) is each slice's display pipeline (``imaging.display``): kept beside
    the float values rather than keeping stored values, so that tools, exports and MPR keep
    working in modality units; None for volumes made without one (windowed by ``default_window``).
    """

    pixels: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    orientation: tuple[float, ...]
    modality: str
    photometric: str
    default_window: tuple[float, float] | None
    series_uid: str
    kind: str  # "volume" | "image" | "cine"
    warnings: list[str] = field(default_factory=list)
    frame_time_ms: float | None = None
    display: DisplaySpec | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)


def volume_from_datasets(datasets: Sequence[pydicom.Dataset]) -> Volume:
    """The main stack of a series (see ``volumes_from_datasets``); only it is decoded."""
    return volumes_from_datasets(datasets, main_only=True)[0]


def volumes_from_datasets(datasets: Sequence[pydicom.Dataset], *, main_only: bool = False) -> list[Volume]:
    """Group one series' instances into stacks, main stack first; the rest carry a warning."""
    groups = _stacks(datasets)
    decoded: dict[int, np.ndarray] = {}
    volumes = [_build(group, datasets, decoded) for group in groups[: 1 if main_only else None]]
    head = groups[0][0]
    for group, vol in zip(groups[1:], volumes[1:], strict=False):
        vol.warnings.append(f"split off from the main stack: {_why_split(group[0], head)}")
    if len(groups) > 1:
        volumes[0].warnings.append(f"{len(groups) - 1} other stack(s) in this series shown separately")
    return volumes


def main_stack_shape(datasets: Sequence[pydicom.Dataset]) -> tuple[int, int, int]:
    """``(z, y, x)`` of ``volume_from_datasets(datasets)``, from the headers alone: datasets
    read without pixel data (or DICOMweb metadata) will do, nothing is decoded."""
    head = _stacks(datasets)[0]
    return (len(head), head[0].rows, head[0].cols)


def main_stack_frames(datasets: Sequence[pydicom.Dataset]) -> list[tuple[int, int]]:
    """``(dataset index, frame index)`` of each slice of ``volume_from_datasets(datasets)``, in
    ``z`` order: which instance (and which of its frames) mask slice ``z`` lies on. Headers
    suffice, as for ``main_stack_shape``."""
    return [(info.source, info.frame) for info in _stacks(datasets)[0]]


def _stacks(datasets: Sequence[pydicom.Dataset]) -> list[list[FrameInfo]]:
    """The frames of a series grouped into stacks: the main stack (the largest non-localizer
    one) first, then the rest, localizers last."""
    if not datasets:
        raise ImagingError("no images in this series")
    infos = assume_axial([info for i, ds in enumerate(datasets) for info in _infos(ds, i)])
    return sorted(_group(infos), key=lambda group: (group[0].localizer, -len(group)))


def _infos(ds: pydicom.Dataset, source: int) -> list[FrameInfo]:
    if ds.get("Rows") in (None, "") or ds.get("Columns") in (None, ""):
        raise ImagingError(f"instance {source + 1} has no Rows/Columns: not an image")
    return frame_infos(ds, source)


def _group(infos: list[FrameInfo]) -> list[list[FrameInfo]]:
    """Frames with geometry group by compatibility; the others group by instance."""
    groups: list[list[FrameInfo]] = []
    by_source: dict[int, list[FrameInfo]] = {}
    for info in infos:
        if info.position is None or info.orientation is None:
            by_source.setdefault(info.source, []).append(info)
            continue
        for group in groups:
            if _compatible(group[0], info):
                group.append(info)
                break
        else:
            groups.append([info])
    sorted_groups = [stack for group in groups for stack in _sort_and_split(group)]
    return sorted_groups + list(by_source.values())


def _compatible(a: FrameInfo, b: FrameInfo) -> bool:
    return (
        (a.rows, a.cols, a.colour, a.photometric, a.localizer)
        == (b.rows, b.cols, b.colour, b.photometric, b.localizer)
        and np.allclose(_placed(a)[1], _placed(b)[1], atol=ORIENTATION_TOLERANCE)
        and np.allclose(a.pixel_spacing, b.pixel_spacing, rtol=1e-3)
    )


def _placed(info: FrameInfo) -> tuple[Vec3, tuple[float, ...]]:
    """Position and orientation of a frame that ``_group`` stacked by geometry (it has both)."""
    if info.position is None or info.orientation is None:
        raise ImagingError(f"instance {info.source + 1}: a frame without position in a stack")
    return info.position, info.orientation


def _sort_and_split(group: list[FrameInfo]) -> list[list[FrameInfo]]:
    """Sort along the normal; frames sharing a position (echoes, phases) go to further stacks."""
    normal = slice_normal(_placed(group[0])[1])
    keyed = sorted(((float(np.dot(_placed(f)[0], normal)), f.instance, f.source, f.frame), f)
                   for f in group)
    stacks: list[list[FrameInfo]] = []
    last, rank = None, 0
    for (distance, *_), info in keyed:
        rank = rank + 1 if last is not None and distance - last < POSITION_TOLERANCE_MM else 0
        last = distance
        if rank == len(stacks):
            stacks.append([])
        stacks[rank].append(info)
    return stacks


def _build(
    group: list[FrameInfo], datasets: Sequence[pydicom.Dataset], decoded: dict[int, np.ndarray]
) -> Volume:
    head, first_ds = group[0], datasets[group[0].source]
    pixels = np.empty(
        (len(group), head.rows, head.cols) + ((3,) if head.colour else ()),
        np.uint8 if head.colour else np.float32,
    )
    for i, info in enumerate(group):
        frames = decoded.get(info.source)
        if frames is None:
            frames = decode_frames(datasets[info.source])
            if frames.shape[0] > 1:  # multi-frame sources may feed several stacks
                decoded[info.source] = frames
        if frames.shape[1:3] != (head.rows, head.cols):
            raise ImagingError(f"instance {info.source + 1}: pixel data does not match Rows/Columns")
        pixels[i] = frames[info.frame]
    warnings = list(dict.fromkeys(note for info in group for note in info.notes))
    origin: Vec3
    if head.position is not None and head.orientation is not None:  # as ``_group`` decides
        kind = "volume" if len(group) > 1 else "image"
        dz = _slice_spacing(group, warnings)
        (origin, orientation), frame_time = _placed(head), None
    else:
        kind = "cine" if len(group) > 1 else "image"
        dz, origin, orientation = 1.0, (0.0, 0.0, 0.0), head.orientation or _IDENTITY
        frame_time = _frame_time(first_ds) if kind == "cine" else None
    return Volume(
        pixels=pixels,
        spacing=(dz, *head.pixel_spacing),
        origin=origin,
        orientation=tuple(orientation),
        modality=str(first_ds.get("Modality", "OT")),
        photometric=head.photometric,
        default_window=None if head.colour else head.window,
        series_uid=str(first_ds.get("SeriesInstanceUID", "")),
        kind=kind,
        warnings=warnings,
        frame_time_ms=frame_time,
        display=None if head.colour else _display(group, datasets),
    )


def _display(group: list[FrameInfo], datasets: Sequence[pydicom.Dataset]) -> DisplaySpec:
    """The display pipeline of each slice; classic instances are read once, whatever their
    frame count (only enhanced multi-frame varies per frame)."""
    specs: dict[tuple[int, int], FrameSpec] = {}
    frames = []
    for info in group:
        ds = datasets[info.source]
        key = (info.source, info.frame if "PerFrameFunctionalGroupsSequence" in ds else 0)
        if key not in specs:
            specs[key] = frame_spec(ds, key[1])
        frames.append(specs[key])
    first = datasets[group[0].source]
    return display_spec(frames, group[0].photometric, str(first.get("PresentationLUTShape") or ""))


def _slice_spacing(group: list[FrameInfo], warnings: list[str]) -> float:
    """Median gap along the normal; uneven gaps are reported, never silently resampled."""
    if len(group) == 1:
        return group[0].thickness or 1.0
    normal = slice_normal(_placed(group[0])[1])
    distances = np.array([np.dot(_placed(f)[0], normal) for f in group])
    gaps = np.diff(distances)
    median = round(float(np.median(gaps)), 4)  # positions carry ~6 digits; keep spacing readable
    if gaps.max() - gaps.min() > max(POSITION_TOLERANCE_MM, 0.01 * median):
        distinct = sorted({round(float(g), 3) for g in gaps})
        shown = ", ".join(f"{g:g}" for g in distinct[:6]) + (" …" if len(distinct) > 6 else "")
        worst = int(np.argmax(np.abs(gaps - median)))
        warnings.append(
            f"uneven slice spacing: gaps of {shown} mm (largest deviation between slices "
            f"{worst} and {worst + 1}); the volume uses the median {median:g} mm"
        )
    return median


def _frame_time(ds: pydicom.Dataset) -> float | None:
    """Milliseconds per frame: FrameTime, else a rate tag, else the mean of FrameTimeVector."""
    frame_time = _positive(ds.get("FrameTime"))
    if frame_time:
        return frame_time
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _positive(ds.get(keyword))
        if rate:
            return 1000.0 / rate
    vector = [_positive(v) or 0.0 for v in list(ds.get("FrameTimeVector") or [])[1:]]
    return float(np.mean(vector)) if vector and min(vector) > 0 else None


def _positive(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < np.inf else None


def _why_split(info: FrameInfo, head: FrameInfo) -> str:
    if info.localizer:
        return "localizer"
    if (info.rows, info.cols) != (head.rows, head.cols):
        return f"image size {info.rows}x{info.cols} differs from {head.rows}x{head.cols}"
    if any(f.position is None or f.orientation is None for f in (info, head)):
        return "separate image without slice position"
    orientation = _placed(info)[1]
    if not np.allclose(orientation, _placed(head)[1], atol=ORIENTATION_TOLERANCE):
        return "different orientation " + "\\".join(f"{v:.3f}" for v in orientation)
    if info.colour != head.colour or info.photometric != head.photometric:
        return f"different photometric interpretation {info.photometric}"
    if not np.allclose(info.pixel_spacing, head.pixel_spacing, rtol=1e-3):
        return f"different pixel spacing {info.pixel_spacing[0]:g}x{info.pixel_spacing[1]:g} mm"
    return "duplicate slice positions (another echo, phase or acquisition)"
