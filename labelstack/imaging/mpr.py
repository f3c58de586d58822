"""Slices of a volume in the three anatomical planes, on the native voxel grid (no resampling).

Each plane takes the volume axis nearest to the patient axis it cuts (so oblique and
sagittal/coronal acquisitions still show the expected anatomy) and orients the result the
radiological way: axial rows run anterior→posterior and columns patient right→left
(screen left = patient right); coronal and sagittal rows run superior→inferior, columns
right→left and anterior→posterior. The slice index increases towards patient left,
posterior and superior (DICOM LPS). Images and cines have only ``axial`` (= frame), shown
as stored. Slices are numpy views, so ``data=`` gives a writable 2D view into a mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import permutations

import numpy as np

from labelstack.imaging.errors import ImagingError
from labelstack.imaging.frames import slice_normal
from labelstack.imaging.volume import Volume


class Plane(StrEnum):
    """The three anatomical planes a volume is sliced in (images and cines: axial only)."""

    axial = "axial"
    coronal = "coronal"
    sagittal = "sagittal"


PLANES = tuple(Plane)
# plane -> (patient axis it cuts, (patient axis down the rows, sign), (patient axis along the columns, sign))
_LAYOUT = {
    Plane.axial: (2, (1, 1), (0, 1)),
    Plane.coronal: (1, (2, -1), (0, 1)),
    Plane.sagittal: (0, (2, -1), (1, 1)),
}


class SliceIndexError(ImagingError, IndexError):
    """A slice index outside the volume (an IndexError for callers that expect one)."""


@dataclass(frozen=True, slots=True)
class SliceMap:
    """Which volume axes form a plane's (index, rows, columns), and which of them run backwards."""

    axes: tuple[int, int, int]
    flips: tuple[bool, bool, bool]


def as_plane(plane: Plane | str) -> Plane:
    """``plane`` as a Plane; ImagingError naming the choices for anything else."""
    try:
        return Plane(plane)
    except ValueError:
        raise ImagingError(f"unknown plane {plane!r}; expected one of {', '.join(PLANES)}") from None


def slice_map(volume: Volume, plane: Plane | str) -> SliceMap:
    """The axis mapping of ``plane``; raises ImagingError for an unknown or unavailable plane."""
    plane = as_plane(plane)
    if volume.kind != "volume":
        if plane != Plane.axial:
            article = "an" if volume.kind[:1] in "aeiou" else "a"
            raise ImagingError(f"{article} {volume.kind} has frames only: use plane 'axial', "
                               f"not '{Plane(plane).value}'")
        return SliceMap(axes=(0, 1, 2), flips=(False, False, False))
    return orientation_map(volume.orientation, plane)


def orientation_map(orientation: tuple[float, ...], plane: Plane | str) -> SliceMap:
    """The axis mapping of ``plane`` for a stack of slices with this ImageOrientationPatient
    (stacked along its normal): the geometry alone, before any pixels are read."""
    return _orientation_map(tuple(float(v) for v in orientation), as_plane(plane))


@lru_cache(maxsize=256)  # every frame asks again, for the same few stacks
def _orientation_map(orientation: tuple[float, ...], plane: Plane) -> SliceMap:
    directions = _axis_directions(orientation)  # rows: volume axes z, y, x in patient LPS
    patient_to_axis = _nearest_axes(directions)
    cut, (down, down_sign), (right, right_sign) = _LAYOUT[plane]
    axes = (patient_to_axis[cut], patient_to_axis[down], patient_to_axis[right])
    signs = (1, down_sign, right_sign)
    patients = (cut, down, right)
    cut_flip, down_flip, right_flip = (bool(directions[a, p] * s < 0)
                                       for a, p, s in zip(axes, patients, signs, strict=True))
    return SliceMap(axes=axes, flips=(cut_flip, down_flip, right_flip))


def slice_count(volume: Volume, plane: Plane | str) -> int:
    """Number of slices (frames for images and cines) in ``plane``."""
    return volume.pixels.shape[slice_map(volume, plane).axes[0]]


def extract_slice(volume: Volume, plane: Plane | str, index: int, *,
                  data: np.ndarray | None = None) -> np.ndarray:
    """Slice ``index`` of ``plane`` as a view of ``volume.pixels`` (or of ``data``, same z,y,x shape)."""
    mapping = slice_map(volume, plane)
    array = volume.pixels if data is None else data
    if array.shape[:3] != volume.pixels.shape[:3]:
        raise ImagingError(
            f"array shape {array.shape[:3]} does not match the volume {volume.pixels.shape[:3]}"
        )
    count = array.shape[mapping.axes[0]]
    if not 0 <= index < count:
        raise SliceIndexError(f"{plane} slice {index} out of range: this series has 0..{count - 1}")
    view = np.moveaxis(array, mapping.axes, (0, 1, 2))
    steps = tuple(slice(None, None, -1 if flip else 1) for flip in mapping.flips)
    return view[steps][index]


def stack_position(volume: Volume, plane: Plane | str, index: int) -> int:
    """The stored slice that slice ``index`` of ``plane`` is (the plane cuts the stack), else
    the middle one (it cuts across the stored slices, so none is)."""
    mapping = slice_map(volume, plane)
    count = volume.pixels.shape[0]
    if mapping.axes[0] != 0:
        return count // 2
    return count - 1 - index if mapping.flips[0] else index


def display_aspect(volume: Volume, plane: Plane | str) -> float:
    """Physical height / width of one displayed pixel, for the UI to stretch the image."""
    _, rows, cols = slice_map(volume, plane).axes
    return volume.spacing[rows] / volume.spacing[cols]


def _axis_directions(orientation: tuple[float, ...]) -> np.ndarray:
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:6], float)
    return np.stack([slice_normal(orientation), col, row])


def _nearest_axes(directions: np.ndarray) -> dict[int, int]:
    """Patient axis → the volume axis most aligned with it (best one-to-one assignment)."""
    best = max(permutations(range(3)), key=lambda p: sum(abs(directions[p[k], k]) for k in range(3)))
    return {patient: axis for patient, axis in enumerate(best)}
