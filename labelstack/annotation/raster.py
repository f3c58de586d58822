"""Rasterising the drawing tools on the slice pixel grid: brush, polygon, spline, sphere.

Coordinates are ``(row, col)`` floats (``(z, y, x)`` for the sphere) with pixel centres at
integers. A pixel is set when its centre is inside the shape: within the radius for the brush
and the sphere (rim included), inside the outline for polygons and splines. Every function
returns ``(box, patch)``: ``box`` is half-open, clipped to the array and tight around the set
pixels, ``patch`` is their bool array; an empty result is ``((0,) * 2n, zeros((0,) * n))``.
Only the bounding box is computed, so the cost follows the stroke, not the slice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from labelstack.annotation.errors import AnnotationInputError

Box2 = tuple[int, int, int, int]  # r0, c0, r1, c1
Box3 = tuple[int, int, int, int, int, int]  # z0, y0, x0, z1, y1, x1
FillRule = Literal["evenodd", "nonzero"]

MAX_POINTS = 10_000  # per stroke or outline: a bound on the work one request can ask for
MAX_COORD = 1e6  # pixels: far outside any slice, small enough for exact box arithmetic
MAX_SAMPLES_PER_SEGMENT = 64
_RIM = 1e-9  # relative slack so a centre exactly on the rim stays inside despite rounding
_PAD = 1e-6  # pixels added to candidate boxes for the same reason

__all__ = [
    "MAX_COORD",
    "MAX_POINTS",
    "Box2",
    "Box3",
    "FillRule",
    "brush",
    "catmull_rom_closed",
    "check_points",
    "check_radius",
    "crop",
    "polygon",
    "radius_px_to_mm",
    "sphere",
    "spline",
]


def radius_px_to_mm(radius_px: float, pixel_spacing: tuple[float, float] = (1.0, 1.0)) -> float:
    """Brush size given in image pixels: it counts along the columns (the slice's x axis).

    The brush is round in millimetres, so on anisotropic pixels it is ``radius_px`` wide and
    ``radius_px * col_mm / row_mm`` tall.
    """
    _, col_mm = _check_spacing(pixel_spacing, 2, "pixel_spacing")
    return check_radius(radius_px, "radius_px") * col_mm


def brush(
    shape2d: tuple[int, int],
    points: Sequence[Sequence[float]] | np.ndarray,
    radius_mm: float,
    pixel_spacing: tuple[float, float] = (1.0, 1.0),
) -> tuple[Box2, np.ndarray]:
    """A round brush (radius in mm) swept along the polyline ``points`` (N×2, N ≥ 1).

    Sets the pixels whose centre lies within ``radius_mm`` of a segment, measured in mm, so
    anisotropic pixels give an ellipse in pixel space. Each segment is evaluated over its own
    box: a long stroke costs its length, not its bounding rectangle.
    """
    shape = _check_shape(shape2d, 2, "shape2d")
    pts = check_points(points)
    radius = check_radius(radius_mm)
    spacing = np.array(_check_spacing(pixel_spacing, 2, "pixel_spacing"))
    reach = radius / spacing + _PAD
    start, stop = _candidate_box(pts.min(axis=0) - reach, pts.max(axis=0) + reach, shape)
    if not all(b > a for a, b in zip(start, stop, strict=True)):
        return _empty2()
    patch = np.zeros([b - a for a, b in zip(start, stop, strict=True)], bool)
    limit = radius * radius * (1 + _RIM)
    ends = zip(pts[:-1], pts[1:], strict=True) if len(pts) > 1 else [(pts[0], pts[0])]
    for a, b in ends:
        lo, hi = _candidate_box(np.minimum(a, b) - reach, np.maximum(a, b) + reach, shape)
        if hi[0] <= lo[0] or hi[1] <= lo[1]:
            continue  # this segment is off the slice
        target = patch[lo[0] - start[0] : hi[0] - start[0], lo[1] - start[1] : hi[1] - start[1]]
        if target.all():
            continue  # already covered by earlier segments
        dr = ((np.arange(lo[0], hi[0]) - a[0]) * spacing[0])[:, None]  # mm from a, per row
        dc = ((np.arange(lo[1], hi[1]) - a[1]) * spacing[1])[None, :]
        seg = (b - a) * spacing
        length2 = float(seg @ seg)
        if length2 == 0.0:
            dist2 = dr * dr + dc * dc
        else:
            t = np.clip((dr * seg[0] + dc * seg[1]) / length2, 0.0, 1.0)
            dist2 = (dr - t * seg[0]) ** 2 + (dc - t * seg[1]) ** 2
        target |= dist2 <= limit
    return _crop2(start, patch)


def polygon(
    shape2d: tuple[int, int],
    vertices: Sequence[Sequence[float]] | np.ndarray,
    rule: FillRule = "evenodd",
) -> tuple[Box2, np.ndarray]:
    """The filled outline through ``vertices`` (N×2, N ≥ 3, closed implicitly), exactly.

    ``rule="evenodd"`` (the default, as SVG's evenodd: a pentagram has a hollow centre) or
    ``"nonzero"`` for self-intersecting outlines. Centres exactly on an edge follow the
    top-left rule (rows and columns half-open), so two polygons sharing an edge never both
    claim a pixel: the square (1, 1)–(3, 3) sets rows and columns 1..2.
    """
    shape = _check_shape(shape2d, 2, "shape2d")
    return _fill(shape, check_points(vertices, name="vertices", min_count=3), rule)


def catmull_rom_closed(
    points: Sequence[Sequence[float]] | np.ndarray, samples_per_segment: int = 16
) -> np.ndarray:
    """A closed centripetal (alpha = 0.5) Catmull-Rom curve through ``points`` as an M×2 polyline.

    Centripetal knots never form cusps or self-loops within a segment, unlike the uniform
    variant. Consecutive repeated points are dropped (they would give zero-length knot
    intervals); the result starts each segment exactly at its control point and its closing
    edge back to the first point is implied, as for ``polygon``.
    """
    pts = check_points(points, min_count=3)
    samples = _check_int(samples_per_segment, "samples_per_segment", 1, MAX_SAMPLES_PER_SEGMENT)
    pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
    if len(pts) < 3:
        raise AnnotationInputError(f"points: a spline needs at least 3 distinct points, got {len(pts)}")
    gaps = np.sqrt(np.hypot(*(np.roll(pts, -1, axis=0) - pts).T))  # knot step i: P_i -> P_i+1
    p0, p1, p2, p3 = (np.roll(pts, -k, axis=0)[:, None, :] for k in (-1, 0, 1, 2))
    t1 = np.roll(gaps, 1)[:, None, None]  # t0 = 0
    t2 = t1 + gaps[:, None, None]
    t3 = t2 + np.roll(gaps, -1)[:, None, None]
    t = t1 + (t2 - t1) * (np.arange(samples) / samples)[None, :, None]
    a1 = ((t1 - t) * p0 + t * p1) / t1
    a2 = ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
    a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
    b1 = ((t2 - t) * a1 + t * a2) / t2
    b2 = ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
    curve = ((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1)
    curve[:, 0, :] = pts  # exact at the control points, whatever the rounding
    return curve.reshape(-1, 2)


def spline(
    shape2d: tuple[int, int],
    points: Sequence[Sequence[float]] | np.ndarray,
    samples_per_segment: int = 16,
    rule: FillRule = "evenodd",
) -> tuple[Box2, np.ndarray]:
    """The filled closed Catmull-Rom curve through ``points`` (see ``catmull_rom_closed``)."""
    shape = _check_shape(shape2d, 2, "shape2d")
    return _fill(shape, catmull_rom_closed(points, samples_per_segment), rule)


def sphere(
    shape3d: tuple[int, int, int],
    centre_zyx: Sequence[float],
    radius_mm: float,
    spacing_zyx: tuple[float, float, float],
) -> tuple[Box3, np.ndarray]:
    """A ball of ``radius_mm`` around ``centre_zyx`` (voxel coordinates), measured in mm."""
    shape = _check_shape(shape3d, 3, "shape3d")
    centre = check_points([centre_zyx], name="centre_zyx", dims=3)[0]
    radius = check_radius(radius_mm)
    spacing = np.array(_check_spacing(spacing_zyx, 3, "spacing_zyx"))
    reach = radius / spacing + _PAD
    start, stop = _candidate_box(centre - reach, centre + reach, shape)
    if not all(b > a for a, b in zip(start, stop, strict=True)):
        return (0, 0, 0, 0, 0, 0), np.zeros((0, 0, 0), bool)
    offsets = [
        ((np.arange(a, b) - c) * s).reshape([-1 if k == axis else 1 for k in range(3)])
        for axis, (a, b, c, s) in enumerate(zip(start, stop, centre, spacing, strict=True))
    ]
    patch = offsets[0] ** 2 + offsets[1] ** 2 + offsets[2] ** 2 <= radius * radius * (1 + _RIM)
    box, cropped = crop(start, patch)
    return (box[0], box[1], box[2], box[3], box[4], box[5]), cropped


def check_points(
    points: object, *, name: str = "points", min_count: int = 1, dims: int = 2, max_count: int = MAX_POINTS
) -> np.ndarray:
    """``points`` as a finite float64 N×dims array, or AnnotationInputError saying what is wrong."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise AnnotationInputError(f"{name}: expected a list of {dims}-number coordinates") from None
    if array.size == 0:
        array = array.reshape(0, dims)
    what = "(row, col)" if dims == 2 else "(z, y, x)"
    if array.ndim != 2 or array.shape[1] != dims:
        raise AnnotationInputError(
            f"{name}: expected N×{dims} {what} coordinates, got an array of shape {array.shape}"
        )
    if len(array) < min_count:
        raise AnnotationInputError(f"{name}: need at least {min_count} point(s), got {len(array)}")
    if len(array) > max_count:
        raise AnnotationInputError(f"{name}: {len(array)} points, more than the limit of {max_count}")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise AnnotationInputError(f"{name}: point {i} is not finite: {array[i].tolist()}")
    far = (np.abs(array) > MAX_COORD).any(axis=1)
    if far.any():
        i = int(np.argmax(far))
        raise AnnotationInputError(
            f"{name}: point {i} lies beyond ±{MAX_COORD:g} pixels: {array[i].tolist()}"
        )
    return array


def check_radius(radius: object, name: str = "radius_mm") -> float:
    """A positive finite radius as float."""
    if isinstance(radius, bool) or not isinstance(radius, int | float | np.integer | np.floating):
        raise AnnotationInputError(f"{name}: expected a number, got {radius!r}")
    value = float(radius)
    if not (math.isfinite(value) and value > 0):
        raise AnnotationInputError(f"{name}: must be a positive finite number, got {value!r}")
    return value


def _fill(shape: tuple[int, ...], pts: np.ndarray, rule: FillRule) -> tuple[Box2, np.ndarray]:
    """Scanline fill: each edge yields one crossing per pixel row it spans, so the work is the
    outline's row extent plus the box, whatever the vertex count."""
    if rule not in ("evenodd", "nonzero"):
        raise AnnotationInputError(f"rule: expected 'evenodd' or 'nonzero', got {rule!r}")
    start, stop = _candidate_box(pts.min(axis=0) - _PAD, pts.max(axis=0) + _PAD, shape)
    (r0, c0), (r1, c1) = start, stop
    if r1 <= r0 or c1 <= c0:
        return _empty2()
    a, b = pts, np.roll(pts, -1, axis=0)
    # rows with ay <= row < by (or by <= row < ay): half-open, so vertices are counted once
    lo = np.clip(np.ceil(np.minimum(a[:, 0], b[:, 0])), r0, r1).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(a[:, 0], b[:, 0])), r0, r1).astype(np.int64)
    counts = hi - lo
    edge = np.repeat(np.arange(len(pts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    row = lo[edge] + (np.arange(len(edge)) - first)
    ay, ax, by, bx = a[edge, 0], a[edge, 1], b[edge, 0], b[edge, 1]
    x = ax + (row - ay) * (bx - ax) / (by - ay)
    # a crossing at x toggles the columns c < x, i.e. c <= ceil(x) - 1 (ray cast to the right)
    last = np.clip(np.ceil(x) - 1 - c0, -1, c1 - c0 - 1).astype(np.int64)
    keep = last >= 0
    width = c1 - c0
    flat = (row[keep] - r0) * width + last[keep]
    direction = np.sign(by - ay)[keep]
    acc = np.bincount(flat, weights=direction, minlength=(r1 - r0) * width).reshape(r1 - r0, width)
    winding = np.rint(np.cumsum(acc[:, ::-1], axis=1)[:, ::-1]).astype(np.int64)
    patch = winding % 2 == 1 if rule == "evenodd" else winding != 0
    return _crop2(start, patch)


def _candidate_box(
    low: np.ndarray, high: np.ndarray, shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Indices of the pixel centres in [low, high] per axis, clipped to ``shape``."""
    start = tuple(int(math.ceil(float(np.clip(v, -1, n)))) for v, n in zip(low, shape, strict=True))
    stop = tuple(int(math.floor(float(np.clip(v, -1, n)))) + 1 for v, n in zip(high, shape, strict=True))
    return (
        tuple(max(0, s) for s in start),
        tuple(min(n, s) for s, n in zip(stop, shape, strict=True)),
    )


def crop(start: tuple[int, ...], patch: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """Tight ``(box, patch)`` around the set pixels of ``patch``, whose first pixel is at ``start``."""
    nd = patch.ndim
    if not patch.any():
        return (0,) * (2 * nd), np.zeros((0,) * nd, bool)
    lo, hi = [], []
    for axis in range(nd):
        hits = np.flatnonzero(patch.any(axis=tuple(k for k in range(nd) if k != axis)))
        lo.append(int(hits[0]))
        hi.append(int(hits[-1]) + 1)
    cropped = patch[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    box = tuple(s + a for s, a in zip(start, lo, strict=True)) + tuple(
        s + b for s, b in zip(start, hi, strict=True)
    )
    return box, cropped


def _crop2(start: tuple[int, ...], patch: np.ndarray) -> tuple[Box2, np.ndarray]:
    box, cropped = crop(start, patch)
    return (box[0], box[1], box[2], box[3]), cropped


def _empty2() -> tuple[Box2, np.ndarray]:
    return (0, 0, 0, 0), np.zeros((0, 0), bool)


def _check_shape(shape: object, dims: int, name: str) -> tuple[int, ...]:
    if not isinstance(shape, Sequence | np.ndarray) or len(shape) != dims:
        raise AnnotationInputError(f"{name}: expected {dims} sizes, got {shape!r}")
    return tuple(_check_int(n, name, 0, None) for n in shape)


def _check_spacing(spacing: object, dims: int, name: str) -> tuple[float, ...]:
    if not isinstance(spacing, Sequence | np.ndarray) or len(spacing) != dims:
        raise AnnotationInputError(f"{name}: expected {dims} spacings in mm, got {spacing!r}")
    return tuple(check_radius(s, name) for s in spacing)


def _check_int(value: object, name: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise AnnotationInputError(f"{name}: expected an integer, got {value!r}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise AnnotationInputError(f"{name}: {number} is outside {bounds}")
    return number
