"""Brush, polygon, spline and sphere against masks worked out by hand (pixel-centre rule)."""

from __future__ import annotations

import numpy as np
import pytest

from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.raster import (
    MAX_POINTS,
    brush,
    catmull_rom_closed,
    polygon,
    radius_px_to_mm,
    sphere,
    spline,
)


def grid(text: str) -> np.ndarray:
    """'#' = set, '.' = clear, one row per line."""
    return np.array([[ch == "#" for ch in line] for line in text.split()], dtype=bool)


def paste(shape: tuple[int, ...], box: tuple[int, ...], patch: np.ndarray) -> np.ndarray:
    """The full-size mask of a (box, patch) result, checking the result's own invariants."""
    n = len(shape)
    assert patch.dtype == np.bool_
    assert patch.shape == tuple(box[n + i] - box[i] for i in range(n))
    out = np.zeros(shape, bool)
    out[tuple(slice(box[i], box[n + i]) for i in range(n))] = patch
    return out


def assert_result(result: tuple[tuple[int, ...], np.ndarray], expected: np.ndarray) -> None:
    """Same pixels, and the box is the tight box of the set pixels (empty: all zeros)."""
    box, patch = result
    np.testing.assert_array_equal(paste(expected.shape, box, patch), expected)
    hits = np.argwhere(expected)
    tight = (*hits.min(axis=0), *(hits.max(axis=0) + 1)) if len(hits) else (0,) * (2 * expected.ndim)
    assert box == tuple(int(v) for v in tight)


DISK_2_5 = grid("""
    .......
    ..###..
    .#####.
    .#####.
    .#####.
    ..###..
    .......
""")

BRUSH_CASES = [
    pytest.param(
        (7, 7),
        [(3, 3)],
        1.5,
        (1.0, 1.0),
        grid("""
        .......
        .......
        ..###..
        ..###..
        ..###..
        .......
        .......
    """),
        id="point-r1.5",
    ),
    pytest.param((7, 7), [(3, 3)], 2.5, (1.0, 1.0), DISK_2_5, id="point-r2.5"),
    # a rim pixel (distance exactly r) is inside, also when the mm maths is inexact (0.7 mm)
    pytest.param(
        (7, 7),
        [(3, 3)],
        2.0,
        (1.0, 1.0),
        grid("""
        .......
        ...#...
        ..###..
        .#####.
        ..###..
        ...#...
        .......
    """),
        id="point-r2-rim",
    ),
    pytest.param(
        (7, 7),
        [(3, 3)],
        radius_px_to_mm(2.0, (0.7, 0.7)),
        (0.7, 0.7),
        grid("""
        .......
        ...#...
        ..###..
        .#####.
        ..###..
        ...#...
        .......
    """),
        id="point-r2px-at-0.7mm",
    ),
    pytest.param(
        (7, 11),
        [(3, 3), (3, 7)],
        2.0,
        (1.0, 1.0),
        grid("""
        ...........
        ...#####...
        ..#######..
        .#########.
        ..#######..
        ...#####...
        ...........
    """),
        id="segment-capsule",
    ),
    pytest.param(
        (7, 11),
        [(3, 3), (3, 3), (3, 7)],
        2.0,
        (1.0, 1.0),
        grid("""
        ...........
        ...#####...
        ..#######..
        .#########.
        ..#######..
        ...#####...
        ...........
    """),
        id="repeated-point",
    ),
    # an L-shaped polyline: the joint is round, not a gap
    pytest.param(
        (6, 6),
        [(1, 1), (1, 4), (4, 4)],
        1.0,
        (1.0, 1.0),
        grid("""
        .####.
        ######
        .#####
        ...###
        ...###
        ....#.
    """),
        id="polyline-corner",
    ),
    # rows 2 mm, columns 1 mm, radius 4 mm: 9 px wide, 5 px tall (rim rows included)
    pytest.param(
        (7, 9),
        [(3, 4)],
        4.0,
        (2.0, 1.0),
        grid("""
        .........
        ....#....
        .#######.
        #########
        .#######.
        ....#....
        .........
    """),
        id="anisotropic-ellipse",
    ),
    pytest.param(
        (7, 7),
        [(0, 0)],
        2.5,
        (1.0, 1.0),
        grid("""
        ###....
        ###....
        ##.....
        .......
        .......
        .......
        .......
    """),
        id="clipped-corner",
    ),
    pytest.param(
        (7, 7),
        [(-2, 3)],
        2.5,
        (1.0, 1.0),
        grid("""
        ..###..
        .......
        .......
        .......
        .......
        .......
        .......
    """),
        id="centre-outside-touches",
    ),
    pytest.param((7, 7), [(-20, 3), (-20, 50)], 2.5, (1.0, 1.0), np.zeros((7, 7), bool), id="outside-empty"),
]


@pytest.mark.parametrize(("shape", "points", "radius", "spacing", "expected"), BRUSH_CASES)
def test_brush(shape, points, radius, spacing, expected) -> None:
    assert_result(brush(shape, points, radius, spacing), expected)


def test_brush_matches_a_per_pixel_reference_on_random_strokes() -> None:
    rng = np.random.default_rng(7)
    rows, cols = 24, 31
    for _ in range(20):
        points = rng.uniform(-4, 30, size=(int(rng.integers(1, 6)), 2))
        spacing = (float(rng.uniform(0.4, 2.0)), float(rng.uniform(0.4, 2.0)))
        radius = float(rng.uniform(0.3, 6.0))
        expected = np.zeros((rows, cols), bool)
        for r in range(rows):
            for c in range(cols):
                expected[r, c] = _distance_mm((r, c), points, spacing) <= radius
        assert_result(brush((rows, cols), points, radius, spacing), expected)


def _distance_mm(pixel: tuple[int, int], points: np.ndarray, spacing: tuple[float, float]) -> float:
    p = np.array(pixel, float) * spacing
    best = np.inf
    segments = list(zip(points[:-1], points[1:], strict=True)) or [(points[0], points[0])]
    for a, b in segments:
        a, b = a * spacing, b * spacing
        d = b - a
        t = 0.0 if not d.any() else min(1.0, max(0.0, float((p - a) @ d / (d @ d))))
        best = min(best, float(np.hypot(*(p - a - t * d))))
    return best


def test_radius_in_pixels_counts_along_the_columns() -> None:
    assert radius_px_to_mm(5, (0.5, 0.7)) == pytest.approx(3.5)
    box, patch = brush((40, 40), [(20, 20)], radius_px_to_mm(5, (2.0, 1.0)), (2.0, 1.0))
    assert patch.shape == (5, 11)  # 5 px either side along the columns, 2.5 px along the rows


SQUARE_1_3 = np.zeros((5, 5), bool)
SQUARE_1_3[1:4, 1:4] = True
TRIANGLE = np.fromfunction(lambda r, c: (r >= 1) & (c >= 1) & (r + c <= 7), (8, 8))
BOWTIE = np.fromfunction(  # crossing at (4, 3.7) on the diagonals c = r - 0.3 and r + c = 7.7
    lambda r, c: ((r > 0.5) & (c > r - 0.3) & (r + c < 7.7)) | ((r < 7.5) & (c < r - 0.3) & (r + c > 7.7)),
    (9, 9),
)

POLYGON_CASES = [
    pytest.param((5, 5), [(0.5, 0.5), (0.5, 3.5), (3.5, 3.5), (3.5, 0.5)], SQUARE_1_3, id="square-centres"),
    pytest.param((5, 5), [(0.5, 0.5), (3.5, 0.5), (3.5, 3.5), (0.5, 3.5)], SQUARE_1_3, id="square-reversed"),
    # centres exactly on an edge: top and left edges in, bottom and right edges out
    pytest.param(
        (5, 5),
        [(1, 1), (1, 3), (3, 3), (3, 1)],
        grid("""
        .....
        .##..
        .##..
        .....
        .....
    """),
        id="square-on-centres-top-left-rule",
    ),
    pytest.param((8, 8), [(0.5, 0.5), (0.5, 6.7), (6.7, 0.5)], TRIANGLE, id="triangle"),
    pytest.param((9, 9), [(0.5, 0.2), (0.5, 7.2), (7.5, 0.2), (7.5, 7.2)], BOWTIE, id="bowtie"),
    pytest.param(
        (5, 5),
        [(-2.5, -2.5), (-2.5, 2.5), (2.5, 2.5), (2.5, -2.5)],
        grid("""
        ###..
        ###..
        ###..
        .....
        .....
    """),
        id="clipped",
    ),
    pytest.param(
        (4, 4), [(-1e5, -1e5), (-1e5, 1e5), (1e5, 1e5), (1e5, -1e5)], np.ones((4, 4), bool), id="covers-slice"
    ),
    pytest.param((5, 5), [(0.5, 6.5), (0.5, 9.5), (3.5, 9.5)], np.zeros((5, 5), bool), id="outside"),
    pytest.param((5, 5), [(1.5, 0.5), (1.5, 3.5), (1.5, 2.0)], np.zeros((5, 5), bool), id="degenerate"),
]


@pytest.mark.parametrize(("shape", "vertices", "expected"), POLYGON_CASES)
def test_polygon(shape, vertices, expected) -> None:
    assert_result(polygon(shape, vertices), expected)


def test_polygons_sharing_an_edge_tile_without_overlap() -> None:
    left = paste((5, 6), *polygon((5, 6), [(1, 1), (1, 3), (3, 3), (3, 1)]))
    right = paste((5, 6), *polygon((5, 6), [(1, 3), (1, 5), (3, 5), (3, 3)]))
    assert not (left & right).any()
    np.testing.assert_array_equal(
        left | right,
        grid("""
        ......
        .####.
        .####.
        ......
        ......
    """),
    )


def test_fill_rules_differ_where_the_outline_winds_twice() -> None:
    twice = [(0.5, 0.5), (0.5, 3.5), (3.5, 3.5), (3.5, 0.5)] * 2
    assert_result(polygon((5, 5), twice, rule="evenodd"), np.zeros((5, 5), bool))
    assert_result(polygon((5, 5), twice, rule="nonzero"), SQUARE_1_3)
    angles = np.pi / 2 + np.arange(5) * 4 * np.pi / 5  # pentagram: every second vertex of a pentagon
    star = np.stack([10 + 9 * np.sin(angles), 10 + 9 * np.cos(angles)], axis=1) + 0.01
    evenodd = paste((21, 21), *polygon((21, 21), star))
    nonzero = paste((21, 21), *polygon((21, 21), star, rule="nonzero"))
    assert not evenodd[10, 10] and nonzero[10, 10]
    assert evenodd[17, 10] and nonzero[17, 10]  # near the tip at (19, 10)
    assert (evenodd <= nonzero).all()


def test_polygon_matches_a_crossing_number_reference() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        vertices = rng.uniform(-3, 20, size=(int(rng.integers(3, 9)), 2))
        expected = np.zeros((17, 15), bool)
        for r in range(17):
            for c in range(15):
                expected[r, c] = _inside_evenodd((r, c), vertices)
        assert_result(polygon((17, 15), vertices), expected)


def _inside_evenodd(pixel: tuple[int, int], vertices: np.ndarray) -> bool:
    r, c = pixel
    inside = False
    for (ar, ac), (br, bc) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        if (ar > r) != (br > r) and c < ac + (r - ar) * (bc - ac) / (br - ar):
            inside = not inside
    return inside


def test_catmull_rom_passes_through_the_control_points() -> None:
    control = np.array([(2.0, 2.0), (2.0, 8.0), (8.0, 8.0), (8.0, 2.0)])
    curve = catmull_rom_closed(control, samples_per_segment=4)
    assert curve.shape == (16, 2)
    np.testing.assert_array_equal(curve[::4], control)  # exactly, every fourth sample
    # equal chords: centripetal = uniform; the mid-edge point is (-p0 + 9 p1 + 9 p2 - p3) / 16
    np.testing.assert_allclose(curve[2], (1.25, 5.0))
    np.testing.assert_allclose(curve[6], (5.0, 8.75))


def test_catmull_rom_on_uneven_points_has_no_nan_and_hits_every_point() -> None:
    control = [(0.0, 0.0), (0.1, 9.0), (5.0, 9.5), (5.0, 9.5), (9.0, 1.0), (4.0, 3.0)]
    curve = catmull_rom_closed(control, samples_per_segment=16)
    assert np.isfinite(curve).all()
    assert len(curve) == 5 * 16  # the repeated point is dropped
    for point in control:
        assert (curve == point).all(axis=1).any()


@pytest.mark.parametrize(
    "control",
    [
        pytest.param([(2.3, 2.3), (2.3, 8.7), (8.7, 8.7), (8.7, 2.3)], id="square"),
        pytest.param([(1.2, 6.1), (5.3, 11.4), (11.6, 8.2), (10.1, 2.7), (4.4, 1.9)], id="pentagon"),
        pytest.param([(3.1, 2.2), (3.4, 10.6), (10.8, 6.3)], id="triangle"),
    ],
)
def test_spline_fill_contains_the_convex_control_polygon(control) -> None:
    shape = (14, 14)
    inner = paste(shape, *polygon(shape, control))
    filled = paste(shape, *spline(shape, control))
    assert inner.any()
    assert (inner <= filled).all()
    assert filled.sum() > inner.sum()  # the curve bulges outwards between the points


def test_sphere_with_anisotropic_spacing() -> None:
    # z spacing 2 mm, radius 2 mm: one voxel above and below, a 5-wide disk in the middle
    expected = np.zeros((5, 9, 9), bool)
    expected[1, 4, 4] = expected[3, 4, 4] = True
    expected[2, 2:7, 2:7] = grid("""
        ..#..
        .###.
        #####
        .###.
        ..#..
    """)
    assert_result(sphere((5, 9, 9), (2, 4, 4), 2.0, (2.0, 1.0, 1.0)), expected)


def test_sphere_closed_form_and_clipping() -> None:
    z, y, x = np.indices((6, 7, 8))
    centre, spacing, radius = (1.0, 5.5, 0.2), (1.5, 0.6, 0.8), 2.7
    expected = ((z - centre[0]) * spacing[0]) ** 2 + ((y - centre[1]) * spacing[1]) ** 2 + (
        (x - centre[2]) * spacing[2]
    ) ** 2 <= radius**2
    assert_result(sphere((6, 7, 8), centre, radius, spacing), expected)
    corner = np.ones((2, 2, 2), bool)
    corner[1, 1, 1] = False  # sqrt(3) > 1.5
    assert_result(sphere((2, 2, 2), (0, 0, 0), 1.5, (1.0, 1.0, 1.0)), corner)
    assert_result(sphere((3, 3, 3), (-5, 1, 1), 1.0, (1.0, 1.0, 1.0)), np.zeros((3, 3, 3), bool))


BAD = [
    pytest.param(lambda: brush((7, 7), [(1.0, np.nan)], 2.0), "points: point 0 is not finite", id="nan"),
    pytest.param(
        lambda: brush((7, 7), [(1, 1), (np.inf, 1)], 2.0), "points: point 1 is not finite", id="inf"
    ),
    pytest.param(lambda: brush((7, 7), [(1, 1)], 0.0), "radius_mm: must be a positive", id="zero-radius"),
    pytest.param(
        lambda: brush((7, 7), [(1, 1)], -1.0), "radius_mm: must be a positive", id="negative-radius"
    ),
    pytest.param(
        lambda: brush((7, 7), [(1, 1)], float("nan")), "radius_mm: must be a positive", id="nan-radius"
    ),
    pytest.param(lambda: brush((7, 7), [(1, 1)], "2"), "radius_mm: expected a number", id="text-radius"),
    pytest.param(lambda: brush((7, 7), [], 2.0), "points: need at least 1 point", id="no-points"),
    pytest.param(
        lambda: brush((7, 7), [(1, 2, 3)], 2.0), r"points: expected N×2 \(row, col\)", id="3-coords"
    ),
    pytest.param(lambda: brush((7, 7), [(1, "a")], 2.0), "points: expected a list", id="text-coord"),
    pytest.param(
        lambda: brush((7, 7), np.zeros((MAX_POINTS + 1, 2)), 2.0),
        "more than the limit of 10000",
        id="too-many-points",
    ),
    pytest.param(lambda: brush((7, 7), [(1e7, 1)], 2.0), "point 0 lies beyond", id="absurd-coordinate"),
    pytest.param(
        lambda: brush((7, 7), [(1, 1)], 2.0, (0.0, 1.0)),
        "pixel_spacing: must be a positive",
        id="zero-spacing",
    ),
    pytest.param(lambda: brush((7, -1), [(1, 1)], 2.0), r"shape2d: -1 is outside >= 0", id="bad-shape"),
    pytest.param(lambda: brush((7, 7, 7), [(1, 1)], 2.0), "shape2d: expected 2 sizes", id="3d-shape"),
    pytest.param(lambda: radius_px_to_mm(0, (1.0, 1.0)), "radius_px: must be a positive", id="zero-px"),
    pytest.param(
        lambda: polygon((7, 7), [(1, 1), (2, 2)]), "vertices: need at least 3 point", id="2-vertices"
    ),
    pytest.param(
        lambda: polygon((7, 7), [(1, 1), (2, 2), (3, 1)], rule="winding"), "rule: expected", id="bad-rule"
    ),
    pytest.param(
        lambda: spline((7, 7), [(1, 1), (1, 1), (3, 3), (1, 1)]),
        "at least 3 distinct points",
        id="spline-duplicates",
    ),
    pytest.param(
        lambda: catmull_rom_closed([(1, 1), (1, 5), (5, 5)], 0),
        "samples_per_segment: 0 is outside",
        id="no-samples",
    ),
    pytest.param(
        lambda: sphere((3, 3, 3), (1, 1), 1.0, (1.0, 1.0, 1.0)),
        r"centre_zyx: expected N×3 \(z, y, x\)",
        id="2d-centre",
    ),
    pytest.param(
        lambda: sphere((3, 3, 3), (1, 1, 1), 0, (1.0, 1.0, 1.0)),
        "radius_mm: must be a positive",
        id="sphere-zero-radius",
    ),
    pytest.param(
        lambda: sphere((3, 3, 3), (1, 1, 1), 1.0, (1.0, 1.0)),
        "spacing_zyx: expected 3 spacings",
        id="sphere-2-spacings",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_raises_a_useful_error(call, message) -> None:
    with pytest.raises(AnnotationInputError, match=message):
        call()
    assert issubclass(AnnotationInputError, ValueError)
