"""Planes, orientation to the radiological convention, aspect ratios, index errors."""

from __future__ import annotations

import numpy as np
import pytest

from labelstack.imaging import ImagingError, SliceIndexError, display_aspect, extract_slice, slice_count
from tests.unit.imaging.helpers import make_volume

V = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)  # z, y, x

# orientation, plane -> expected slice of V (as an index expression), aspect
CASES = [
    # head-first axial: axial as stored; coronal/sagittal put superior (last z) at the top
    pytest.param((1, 0, 0, 0, 1, 0), "axial", 2, V[2], 0.5 / 0.75, id="axial-axial"),
    pytest.param((1, 0, 0, 0, 1, 0), "coronal", 1, V[::-1, 1, :], 3.0 / 0.75, id="axial-coronal"),
    pytest.param((1, 0, 0, 0, 1, 0), "sagittal", 3, V[::-1, :, 3], 3.0 / 0.5, id="axial-sagittal"),
    # sagittal acquisition (rows run down = -z, columns posterior, normal = patient right):
    # sagittal slices as stored, index counted towards patient left
    pytest.param((0, 1, 0, 0, 0, -1), "sagittal", 2, V[1], 0.5 / 0.75, id="sagittal-sagittal"),  # normal -x
    pytest.param((0, 1, 0, 0, 0, -1), "axial", 4, V[::-1, 0, :].T, 0.75 / 3.0, id="sagittal-axial"),
    # coronal acquisition: normal points posterior (+y), as the coronal index does
    pytest.param((1, 0, 0, 0, 0, -1), "coronal", 0, V[0], 0.5 / 0.75, id="coronal-coronal"),
    # feet-first axial with flipped rows: axial rows must still run anterior → posterior
    pytest.param((1, 0, 0, 0, -1, 0), "axial", 0, V[3, ::-1, :], 0.5 / 0.75, id="feet-first-axial"),
]


@pytest.mark.parametrize(("orientation", "plane", "index", "expected", "aspect"), CASES)
def test_planes_follow_the_radiological_convention(orientation, plane, index, expected, aspect) -> None:
    volume = make_volume(V, orientation=orientation)
    np.testing.assert_array_equal(extract_slice(volume, plane, index), expected)
    assert display_aspect(volume, plane) == pytest.approx(aspect)


def test_slice_counts_per_plane() -> None:
    volume = make_volume(V)
    assert [slice_count(volume, p) for p in ("axial", "coronal", "sagittal")] == [4, 5, 6]


def test_512_cube_shapes() -> None:
    volume = make_volume(np.zeros((30, 512, 256), np.float32), spacing=(5.0, 0.7, 0.7))
    assert extract_slice(volume, "axial", 0).shape == (512, 256)
    assert extract_slice(volume, "coronal", 0).shape == (30, 256)
    assert extract_slice(volume, "sagittal", 0).shape == (30, 512)
    assert display_aspect(volume, "coronal") == pytest.approx(5.0 / 0.7)


def test_mask_view_writes_through_to_the_volume_mask() -> None:
    volume = make_volume(V)
    mask = np.zeros(V.shape, bool)
    extract_slice(volume, "sagittal", 2, data=mask)[0, 1] = True  # top row = most superior
    assert mask[3, 1, 2] and mask.sum() == 1


@pytest.mark.parametrize(("plane", "index"), [("axial", 4), ("coronal", -1), ("sagittal", 6)])
def test_out_of_range_index(plane: str, index: int) -> None:
    with pytest.raises(SliceIndexError, match=f"{plane} slice {index} out of range"):
        extract_slice(make_volume(V), plane, index)
    assert issubclass(SliceIndexError, IndexError)


def test_unknown_plane_and_2d_planes() -> None:
    with pytest.raises(ImagingError, match="unknown plane 'oblique'"):
        extract_slice(make_volume(V), "oblique", 0)
    cine = make_volume(V, kind="cine")
    np.testing.assert_array_equal(extract_slice(cine, "axial", 1), V[1])
    assert slice_count(cine, "axial") == 4
    with pytest.raises(ImagingError, match="use plane 'axial'"):
        extract_slice(cine, "coronal", 0)


def test_colour_volume_slices_keep_channels() -> None:
    rgb = np.zeros((2, 5, 6, 3), np.uint8)
    assert extract_slice(make_volume(rgb, photometric="RGB"), "coronal", 0).shape == (2, 6, 3)
