"""Where a view's pixel is: the (z, y, x) voxel under pixel (row, col) of a plane's slice, the
way back, and the voxel's position in patient millimetres (DICOM LPS). The views use these
for the readout and the crosshair; drawing goes through `annotation.editor` the same way."""

from __future__ import annotations

import numpy as np

from labelstack.imaging.mpr import Plane, slice_map
from labelstack.imaging.volume import Volume

Voxel = tuple[int, int, int]


def voxel(volume: Volume, plane: Plane, index: int, row: int, col: int) -> Voxel:
    """The voxel under pixel (row, col) of slice `index` of `plane` (clipped to the volume)."""
    mapping = slice_map(volume, plane)
    shape = volume.pixels.shape
    out = [0, 0, 0]
    for k, value in enumerate((index, row, col)):
        axis = mapping.axes[k]
        n = shape[axis]
        value = int(np.clip(value, 0, n - 1))
        out[axis] = n - 1 - value if mapping.flips[k] else value
    return out[0], out[1], out[2]


def project(volume: Volume, zyx: Voxel, plane: Plane) -> Voxel:
    """(slice index, row, col) of voxel `zyx` in `plane`: the inverse of `voxel`."""
    mapping = slice_map(volume, plane)
    shape = volume.pixels.shape
    out = [shape[axis] - 1 - zyx[axis] if flip else zyx[axis]
           for axis, flip in zip(mapping.axes, mapping.flips, strict=True)]
    return out[0], out[1], out[2]


def patient_mm(volume: Volume, zyx: Voxel) -> np.ndarray:
    """The voxel centre in patient coordinates (mm)."""
    row, col = np.asarray(volume.orientation[:3], float), np.asarray(volume.orientation[3:6], float)
    normal = np.cross(row, col)
    z, y, x = zyx
    return (np.asarray(volume.origin, float) + x * volume.spacing[2] * row
            + y * volume.spacing[1] * col + z * volume.spacing[0] * normal)
