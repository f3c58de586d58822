"""Agreement metrics: hand-computed values on small masks, and the same numbers as an
independent implementation (distance transforms, brute force) on larger anisotropic ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from labelstack.annotation import agreement
from labelstack.annotation.agreement import compare
from tests.unit.annotation import agreement_reference as reference


def _box(shape: tuple[int, int, int], *ranges: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[tuple(slice(lo, hi) for lo, hi in ranges)] = True
    return mask


def test_two_cubes_one_slice_apart_by_hand() -> None:
    """3×3×3 cubes, B one slice above A, spacing 2 × 0.5 × 0.5 mm.

    Each surface has 26 voxels (27 less the centre). A's bottom face (9 voxels) is 2 mm below
    B's bottom face; A's middle ring (8) and the ring of its top face (8) lie on B's surface
    (0 mm); the centre of A's top face is B's interior centre, 0.5 mm from B's ring. B → A is
    the mirror image. HD95: 16 zeros, one 0.5, nine 2.0 → rank 23.75 → 2.0 mm.
    """
    a = _box((5, 5, 5), (1, 4), (1, 4), (1, 4))
    b = _box((5, 5, 5), (2, 5), (1, 4), (1, 4))
    result = compare(a, b, (2.0, 0.5, 0.5))
    assert result.dice == pytest.approx(2 / 3) and result.jaccard == pytest.approx(1 / 2)
    assert result.volume_a_ml == pytest.approx(27 * 0.5 / 1000)
    assert result.volume_b_ml == pytest.approx(27 * 0.5 / 1000)
    assert result.volume_difference_ml == 0.0
    assert result.hd95_mm == pytest.approx(2.0)
    assert result.assd_mm == pytest.approx(2 * (9 * 2.0 + 0.5) / 52)
    a_to_b, b_to_a = agreement.surface_distances(a, b, (2.0, 0.5, 0.5))
    assert sorted(a_to_b) == sorted(b_to_a) == [0.0] * 16 + [0.5] + [2.0] * 9


def test_squares_in_one_frame_by_hand() -> None:
    """Planar: 3×3 squares one column apart (1 mm pixels). Each outline has 8 pixels: 3 of
    A's are 1 mm from B's outline, and A's middle-right pixel (B's centre) is 1 mm too; the
    other 4 lie on B's outline."""
    a = _box((1, 5, 5), (0, 1), (1, 4), (1, 4))
    b = _box((1, 5, 5), (0, 1), (1, 4), (2, 5))
    result = compare(a, b, (1.0, 1.0, 1.0), planar=True)
    assert (result.dice, result.jaccard) == (pytest.approx(2 / 3), pytest.approx(0.5))
    assert result.hd95_mm == pytest.approx(1.0)  # 4 zeros, 4 ones: rank 6.65 → 1
    assert result.assd_mm == pytest.approx(0.5)
    # in 3D a one-slice mask is all surface (above and below is outside)
    flat = compare(a, b, (1.0, 1.0, 1.0))
    assert flat.assd_mm == pytest.approx(6 / 18)


def test_single_voxels_and_signed_volume_difference() -> None:
    a = _box((3, 4, 5), (0, 1), (0, 1), (0, 1))
    b = _box((3, 4, 5), (2, 3), (3, 4), (3, 5))
    result = compare(a, b, (1.0, 2.0, 3.0))
    expected = math.sqrt(2**2 + 6**2 + 9**2)  # to the nearer of B's two voxels
    assert result.dice == 0.0 and result.jaccard == 0.0
    assert result.volume_a_ml == pytest.approx(0.006) and result.volume_b_ml == pytest.approx(0.012)
    assert result.volume_difference_ml == pytest.approx(0.006)
    assert result.hd95_mm is not None and result.hd95_mm > expected  # B's far voxel is 12 mm off in x
    assert agreement.surface_distances(a, b, (1.0, 2.0, 3.0))[0] == pytest.approx([expected])


def test_identical_masks_agree_perfectly() -> None:
    a = _box((6, 7, 8), (1, 5), (2, 6), (0, 8))  # touches the array's x edges
    result = compare(a, a.copy(), (1.5, 0.7, 0.7))
    assert (result.dice, result.jaccard, result.hd95_mm, result.assd_mm) == (1.0, 1.0, 0.0, 0.0)


def test_a_mask_filling_the_array_has_its_surface_on_the_edge() -> None:
    full = np.ones((3, 4, 5), bool)
    surface = agreement.surface(full)
    assert surface.sum() == full.size - 1 * 2 * 3  # only the (1, 1..2, 1..3) core is inside
    np.testing.assert_array_equal(surface, reference.surface(full))


def test_empty_masks() -> None:
    empty = np.zeros((4, 4, 4), bool)
    some = _box((4, 4, 4), (1, 2), (1, 2), (1, 3))
    both = compare(empty, empty, (1, 1, 1))
    assert (both.dice, both.jaccard, both.hd95_mm, both.assd_mm) == (1.0, 1.0, 0.0, 0.0)
    assert both.volume_a_ml == both.volume_b_ml == both.volume_difference_ml == 0.0
    for a, b in ((empty, some), (some, empty)):
        one = compare(a, b, (1, 1, 1))
        assert (one.dice, one.jaccard, one.hd95_mm, one.assd_mm) == (0.0, 0.0, None, None)
    assert compare(empty, some, (1, 1, 1)).volume_difference_ml == pytest.approx(0.002)


def test_a_cine_frame_labelled_in_one_mask_only_has_no_mean_distance() -> None:
    a = np.zeros((3, 8, 8), bool)
    a[:, 2:6, 2:6] = True
    b = a.copy()
    b[2] = False  # frame 2: only A has a label there
    result = compare(a, b, (1.0, 0.5, 0.5), planar=True)
    assert result.assd_mm is None
    assert result.hd95_mm is None  # 12 of A's 36 outline pixels (a third) have no counterpart
    same = compare(a, a, (1.0, 0.5, 0.5), planar=True)
    assert same.hd95_mm == 0.0 and same.assd_mm == 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="different shapes"):
        compare(np.zeros((2, 2, 2), bool), np.zeros((2, 2, 3), bool), (1, 1, 1))
    with pytest.raises(ValueError, match="spacing"):
        compare(np.zeros((2, 2, 2), bool), np.zeros((2, 2, 2), bool), (1, 0, 1))
    with pytest.raises(ValueError, match="volumes"):
        compare(np.zeros((2, 2), bool), np.zeros((2, 2), bool), (1, 1, 1))


def test_spread_of_values() -> None:
    s = agreement.spread([1.0, None, 3.0, math.inf])
    assert (s.n, s.mean, s.std, s.min, s.max) == (2, 2.0, pytest.approx(math.sqrt(2)), 1.0, 3.0)
    assert agreement.spread([None]).mean is None and agreement.spread([5.0]).std == 0.0


def _blob(shape: tuple[int, int, int], seed: int, threshold: float = 0.55) -> np.ndarray:
    """Smoothed noise thresholded: irregular, several components, holes."""
    noise = np.random.default_rng(seed).random(shape)
    return ndimage.gaussian_filter(noise, sigma=(1.5, 3.0, 3.0)) > threshold - 0.05


@pytest.mark.parametrize("spacing", [(2.5, 0.7, 0.9), (0.6, 1.8, 0.4), (1.0, 1.0, 1.0)])
@pytest.mark.parametrize("seeds", [(1, 2), (3, 3), (4, 5)])
def test_matches_distance_transforms_on_anisotropic_blobs(spacing, seeds) -> None:
    a, b = _blob((24, 48, 40), seeds[0]), _blob((24, 48, 40), seeds[1])
    if seeds[0] == seeds[1]:
        b = ndimage.binary_dilation(a, iterations=2) & ~_box(a.shape, (0, 24), (0, 48), (0, 6))
    assert a.any() and b.any() and not np.array_equal(a, b)
    np.testing.assert_array_equal(agreement.surface(a), reference.surface(a))
    ours = agreement.surface_distances(a, b, spacing)
    ref = reference.distances_edt(a, b, spacing, crop=False)
    for mine, theirs in zip(ours, ref, strict=True):
        np.testing.assert_allclose(np.sort(mine), np.sort(theirs), rtol=1e-12, atol=1e-12)
    result = compare(a, b, spacing)
    assert result.hd95_mm == pytest.approx(reference.hd95(*ref), rel=1e-12)
    assert result.assd_mm == pytest.approx(reference.assd(*ref), rel=1e-12)
    assert result.dice == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))
    assert result.volume_a_ml == pytest.approx(a.sum() * np.prod(spacing) / 1000)


def test_matches_brute_force_on_small_masks() -> None:
    spacing = (3.0, 0.8, 1.1)
    for seed in range(4):
        a, b = _blob((10, 20, 18), 10 + seed), _blob((10, 20, 18), 20 + seed)
        ours = agreement.surface_distances(a, b, spacing)
        brute = reference.distances_brute(a, b, spacing)
        for mine, theirs in zip(ours, brute, strict=True):
            np.testing.assert_allclose(np.sort(mine), np.sort(theirs), rtol=1e-12)


def test_planar_matches_per_frame_distance_transforms() -> None:
    a, b = _blob((6, 40, 44), 7), _blob((6, 40, 44), 8)
    b[3] = a[3]  # one frame identical
    spacing = (1.0, 0.3, 0.45)
    ours = agreement.surface_distances(a, b, spacing, planar=True)
    ref = reference.distances_edt(a, b, spacing, planar=True)
    for mine, theirs in zip(ours, ref, strict=True):
        np.testing.assert_allclose(np.sort(mine), np.sort(theirs), rtol=1e-12)
    np.testing.assert_array_equal(agreement.surface(a, planar=True), reference.surface(a, planar=True))
