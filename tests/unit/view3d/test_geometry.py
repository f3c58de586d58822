"""Voxel ↔ patient millimetres for the 3D view agree with the 2D views' readout."""

from __future__ import annotations

import numpy as np
import pytest

from labelstack.components.annotator_geometry import patient_mm
from labelstack.imaging.volume import Volume
from labelstack.view3d.geometry import box_union, mask_box, patient_matrix, voxel_of

OBLIQUE = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # sagittal acquisition


@pytest.mark.parametrize("orientation", [(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), OBLIQUE])
@pytest.mark.parametrize("zyx", [(0, 0, 0), (3, 5, 7), (9, 0, 11)])
def test_the_matrix_places_voxels_where_the_readout_does(orientation: tuple[float, ...],
                                                         zyx: tuple[int, int, int]) -> None:
    volume = Volume(pixels=np.zeros((10, 12, 14), np.float32), spacing=(2.5, 0.7, 0.9),
                    origin=(-30.0, 12.0, 100.0), orientation=orientation, modality="CT",
                    photometric="MONOCHROME2", default_window=None, series_uid="1.2", kind="volume")
    matrix = patient_matrix(volume.spacing, volume.origin, volume.orientation)
    mm = matrix @ np.array([zyx[2], zyx[1], zyx[0], 1.0])
    np.testing.assert_allclose(mm[:3], patient_mm(volume, zyx))
    assert voxel_of(matrix, mm[:3], volume.shape) == zyx


def test_a_point_outside_lands_on_the_nearest_voxel_inside() -> None:
    matrix = patient_matrix((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    assert voxel_of(matrix, (-5.0, 3.2, 40.0), (10, 10, 10)) == (9, 3, 0)


def test_boxes() -> None:
    mask = np.zeros((6, 7, 8), bool)
    assert mask_box(mask) is None
    mask[1, 2, 3] = mask[4, 5, 6] = True
    assert mask_box(mask) == (1, 2, 3, 5, 6, 7)
    assert box_union(None, None) is None
    assert box_union((1, 2, 3, 5, 6, 7), None) == (1, 2, 3, 5, 6, 7)
    assert box_union((1, 2, 3, 5, 6, 7), (0, 4, 4, 2, 8, 5)) == (0, 2, 3, 5, 8, 7)
