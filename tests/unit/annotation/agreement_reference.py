"""An independent implementation of the surface metrics of `labelstack.annotation.agreement`,
for the tests and `benchmarks/bench_agreement.py`: the same definitions, computed another way.

Surface voxels by explicit neighbour comparison on a padded array (not morphological
erosion); distances from a Euclidean distance transform of the other surface's complement
with the voxel spacing as sampling (`scipy.ndimage.distance_transform_edt`), read at the
surface voxels (not nearest-neighbour queries); or, for small masks, brute force over every
pair of surface voxel centres.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial.distance import cdist


def surface(mask: np.ndarray, *, planar: bool = False) -> np.ndarray:
    """Mask voxels with a face neighbour outside the mask (outside the array counts as outside)."""
    padded = np.pad(np.asarray(mask, bool), 1, constant_values=False)
    core = (slice(1, -1),) * 3
    exposed = np.zeros(mask.shape, bool)
    for axis in (1, 2) if planar else (0, 1, 2):
        for step in (-1, 1):
            neighbour = list(core)
            neighbour[axis] = slice(1 + step, padded.shape[axis] - 1 + step)
            exposed |= ~padded[tuple(neighbour)]
    return np.asarray(mask, bool) & exposed


def distances_edt(a: np.ndarray, b: np.ndarray, spacing: tuple[float, float, float], *,
                  planar: bool = False, crop: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(a → b, b → a) surface distances in mm via distance transforms; inf without a target."""
    if crop:
        a, b = _crop(a, b)
    sa, sb = surface(a, planar=planar), surface(b, planar=planar)
    if not planar:
        return _edt_at(sa, sb, spacing), _edt_at(sb, sa, spacing)
    out: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for fa, fb in zip(sa, sb, strict=True):
        out[0].append(_edt_at(fa, fb, spacing[1:]))
        out[1].append(_edt_at(fb, fa, spacing[1:]))
    return np.concatenate(out[0]), np.concatenate(out[1])


def distances_brute(a: np.ndarray, b: np.ndarray,
                    spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(a → b, b → a) by every pair of surface voxel centres (3D; small masks only)."""
    pa = np.argwhere(surface(a)) * np.asarray(spacing)
    pb = np.argwhere(surface(b)) * np.asarray(spacing)
    if len(pa) == 0 or len(pb) == 0:
        return np.full(len(pa), np.inf), np.full(len(pb), np.inf)
    pairwise = cdist(pa, pb)
    return pairwise.min(axis=1), pairwise.min(axis=0)


def hd95(a_to_b: np.ndarray, b_to_a: np.ndarray) -> float:
    return max(float(np.percentile(d, 95)) if d.size else 0.0 for d in (a_to_b, b_to_a))


def assd(a_to_b: np.ndarray, b_to_a: np.ndarray) -> float:
    both = np.concatenate([a_to_b, b_to_a])
    return float(both.mean()) if both.size else 0.0


def _edt_at(points: np.ndarray, targets: np.ndarray, sampling: tuple[float, ...]) -> np.ndarray:
    if not points.any():
        return np.zeros(0)
    if not targets.any():
        return np.full(int(points.sum()), np.inf)
    return ndimage.distance_transform_edt(~targets, sampling=sampling)[points]


def _crop(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks cut to the union's bounding box plus one background voxel where there is room."""
    where = np.nonzero(a | b)
    if where[0].size == 0:
        return a, b
    box = tuple(slice(max(int(w.min()) - 1, 0), int(w.max()) + 2) for w in where)
    return a[box], b[box]
