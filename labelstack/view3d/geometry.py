"""Voxel indices and patient millimetres (DICOM LPS): the 4×4 matrix that places the volume,
its surfaces and its slice planes, and the way back for a picked point. Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def patient_matrix(spacing: Sequence[float], origin: Sequence[float],
                   orientation: Sequence[float]) -> np.ndarray:
    """Maps homogeneous (x, y, z) voxel indices to patient mm: the columns are the row
    direction times dx, the column direction times dy, the slice normal times dz, the origin."""
    row = np.asarray(orientation[:3], float)
    col = np.asarray(orientation[3:6], float)
    normal = np.cross(row, col)
    dz, dy, dx = (float(s) for s in spacing)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = row * dx, col * dy, normal * dz
    matrix[:3, 3] = np.asarray(origin, float)
    return matrix


def voxel_of(matrix: np.ndarray, point_mm: Sequence[float], shape: Sequence[int]) -> tuple[int, int, int]:
    """The (z, y, x) voxel nearest a patient point, clipped to the volume."""
    xyz = np.linalg.solve(matrix, np.append(np.asarray(point_mm, float), 1.0))[:3]
    zyx = np.rint(xyz[::-1]).astype(int)
    zyx = np.clip(zyx, 0, np.asarray(shape) - 1)
    return int(zyx[0]), int(zyx[1]), int(zyx[2])


def box_union(a: Sequence[int] | None, b: Sequence[int] | None) -> tuple[int, ...] | None:
    """The smallest (z0, y0, x0, z1, y1, x1) box holding both (None: empty)."""
    if a is None:
        return None if b is None else tuple(b)
    if b is None:
        return tuple(a)
    return (*(min(a[i], b[i]) for i in range(3)), *(max(a[i], b[i]) for i in range(3, 6)))


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int, int, int] | None:
    """The tight box of a mask's set voxels (None: none set)."""
    found = []
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(np.any(mask, axis=others))
        if hits.size == 0:
            return None
        found.append((int(hits[0]), int(hits[-1]) + 1))
    (z0, z1), (y0, y1), (x0, x1) = found
    return z0, y0, x0, z1, y1, x1
