"""How much two masks of one image agree: overlap, volumes and surface distances in mm.

Definitions (``spacing = (dz, dy, dx)`` mm, masks boolean ``(z, y, x)`` on the same grid):

- **Dice** ``2|A∩B| / (|A| + |B|)`` and **Jaccard** ``|A∩B| / |A∪B|``; both are 1.0 when both
  masks are empty (they agree there is nothing) and 0.0 when exactly one is.
- **Volumes** ``voxels · dz·dy·dx / 1000`` ml; ``volume_difference_ml = volume_b − volume_a``
  (signed: positive when B is larger).
- **Surface**: the mask voxels with at least one face neighbour (6-connectivity) outside the
  mask; beyond the array counts as outside, so a mask touching the edge has a surface there.
  Distances run between surface voxel centres, in mm.
- **HD95**: the larger of the two directed 95th percentiles (A's surface to B's, B's to A's;
  numpy's linear interpolation). **ASSD**: the mean over both surfaces' voxels of the distance
  to the other surface. Both are 0.0 when both masks are empty and ``None`` when exactly one is
  (no surface to measure to).
- **Planar** images (single frames, cines: frames are not a spatial axis) take surfaces and
  distances within each frame only; a frame where only one mask has voxels has no counterpart
  there, so its distances are infinite: ASSD is then ``None``, and HD95 too unless those voxels
  fall in the top 5 %.

Distances come from nearest-neighbour queries (``scipy.spatial.cKDTree``) between the surface
voxel centres, after cropping to the union's bounding box; voxels on both surfaces are at
distance 0 and not queried. ``tests/unit/annotation/test_agreement.py`` checks the numbers
against brute force and against a Euclidean distance transform (``scipy.ndimage``), and
``benchmarks/bench_agreement.py`` times this against the distance transform.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = ["Agreement", "Spread", "compare", "hd95", "assd", "overlap", "spread", "surface",
           "surface_distances", "volume_ml"]

_FACES_3D = ndimage.generate_binary_structure(3, 1)
_FACES_2D = np.zeros((3, 3, 3), bool)
_FACES_2D[1] = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True, slots=True)
class Agreement:
    dice: float
    jaccard: float
    volume_a_ml: float
    volume_b_ml: float
    volume_difference_ml: float
    hd95_mm: float | None
    assd_mm: float | None

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Spread:
    """Mean, sample standard deviation (0 for one value), min, max over ``n`` values."""

    n: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None


def compare(a: np.ndarray, b: np.ndarray, spacing: Sequence[float], *, planar: bool = False) -> Agreement:
    """Every metric of the module docstring for masks ``a`` and ``b``."""
    a, b = _as_masks(a, b)
    dz, dy, dx = _spacing(spacing)
    dice, jaccard = overlap(a, b)
    volume_a, volume_b = volume_ml(a, spacing), volume_ml(b, spacing)
    a_to_b, b_to_a = surface_distances(a, b, (dz, dy, dx), planar=planar)
    return Agreement(dice=dice, jaccard=jaccard, volume_a_ml=volume_a, volume_b_ml=volume_b,
                     volume_difference_ml=volume_b - volume_a, hd95_mm=hd95(a_to_b, b_to_a),
                     assd_mm=assd(a_to_b, b_to_a))


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Dice, Jaccard); (1, 1) for two empty masks."""
    size_a, size_b = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    if size_a + size_b == 0:
        return 1.0, 1.0
    common = int(np.count_nonzero(a & b))
    return 2.0 * common / (size_a + size_b), common / (size_a + size_b - common)


def volume_ml(mask: np.ndarray, spacing: Sequence[float]) -> float:
    return int(np.count_nonzero(mask)) * math.prod(_spacing(spacing)) / 1000.0


def surface(mask: np.ndarray, *, planar: bool = False) -> np.ndarray:
    """Boolean surface voxels of ``mask`` (see the module docstring); ``planar``: per frame."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.zeros_like(mask)
    inner = ndimage.binary_erosion(mask, _FACES_2D if planar else _FACES_3D, border_value=0)
    return mask & ~inner


def surface_distances(a: np.ndarray, b: np.ndarray, spacing: Sequence[float], *,
                      planar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distances in mm from each surface voxel of ``a`` to ``b``'s surface, and from ``b``'s to
    ``a``'s (unordered); ``inf`` where the other mask has no surface (in that frame)."""
    a, b = _as_masks(a, b)
    box = _union_box(a, b)
    if box is None:
        return np.zeros(0), np.zeros(0)
    a, b = a[box], b[box]
    surface_a, surface_b = surface(a, planar=planar), surface(b, planar=planar)
    scale = np.asarray(_spacing(spacing))
    if not planar:
        return _nearest(surface_a, surface_b, scale), _nearest(surface_b, surface_a, scale)
    parts: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for frame_a, frame_b in zip(surface_a, surface_b, strict=True):
        if frame_a.any() or frame_b.any():
            parts[0].append(_nearest(frame_a, frame_b, scale[1:]))
            parts[1].append(_nearest(frame_b, frame_a, scale[1:]))
    return np.concatenate(parts[0]), np.concatenate(parts[1])


def hd95(a_to_b: np.ndarray, b_to_a: np.ndarray) -> float | None:
    """95th-percentile Hausdorff distance from the two directed distance sets."""
    directed = [_percentile(d, 95.0) for d in (a_to_b, b_to_a)]
    worst = max(directed)
    return worst if math.isfinite(worst) else None


def assd(a_to_b: np.ndarray, b_to_a: np.ndarray) -> float | None:
    """Average symmetric surface distance; 0 for no surface at all."""
    count = a_to_b.size + b_to_a.size
    if count == 0:
        return 0.0
    mean = (float(np.sum(a_to_b)) + float(np.sum(b_to_a))) / count
    return mean if math.isfinite(mean) else None


def spread(values: Iterable[float | None]) -> Spread:
    """Summary of the defined (non-None, finite) values."""
    data = np.array([v for v in values if v is not None and math.isfinite(v)], float)
    if data.size == 0:
        return Spread(n=0, mean=None, std=None, min=None, max=None)
    std = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    return Spread(n=int(data.size), mean=float(np.mean(data)), std=std, min=float(data.min()),
                  max=float(data.max()))


def _nearest(points: np.ndarray, targets: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """For each True voxel of ``points``: mm to the nearest True voxel of ``targets``."""
    out = np.zeros(int(np.count_nonzero(points)))
    if out.size == 0:
        return out
    if not targets.any():
        out[:] = np.inf
        return out
    # voxels on both surfaces are at 0: only the others need a query (often most are shared)
    others = ~targets[points]
    if others.any():
        tree = cKDTree(np.argwhere(targets) * scale)
        out[others] = tree.query(np.argwhere(points & ~targets) * scale, k=1, workers=-1)[0]
    return out


def _percentile(distances: np.ndarray, q: float) -> float:
    if distances.size == 0:
        return 0.0
    if not np.isfinite(distances).all():
        ordered = np.sort(distances)  # inf last; numpy's "linear" rule without inf - inf
        rank = (ordered.size - 1) * q / 100.0
        lo, hi = ordered[math.floor(rank)], ordered[math.ceil(rank)]
        if not math.isfinite(hi):
            return math.inf
        return float(lo + (hi - lo) * (rank - math.floor(rank)))
    return float(np.percentile(distances, q))


def _union_box(a: np.ndarray, b: np.ndarray) -> tuple[slice, ...] | None:
    """The union's bounding box grown by one voxel (clipped): surfaces computed inside it are
    those of the whole array, since the added layer is background."""
    union = a | b
    box = []
    for axis in range(union.ndim):
        hits = np.flatnonzero(union.any(axis=tuple(k for k in range(union.ndim) if k != axis)))
        if hits.size == 0:
            return None
        box.append(slice(max(int(hits[0]) - 1, 0), int(hits[-1]) + 2))
    return tuple(box)


def _as_masks(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of different shapes {a.shape} and {b.shape} cannot be compared")
    if a.ndim != 3:
        raise ValueError(f"masks are (z, y, x) volumes, got {a.ndim} dimensions")
    return a, b


def _spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(s) for s in spacing)
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be three positive mm values (dz, dy, dx), got {spacing!r}")
    return values[0], values[1], values[2]
