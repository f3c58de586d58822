"""NIfTI and PNG files: the affine maps each voxel centre to the patient position DICOM gives
it (LPS → RAS), the data axes are (column, row, slice), and the values come back unchanged."""

from __future__ import annotations

import gzip
import io
import random
import zipfile

import cv2
import nibabel as nib
import numpy as np
import pytest

from labelstack.annotation import nifti
from labelstack.imaging.phantom import AXIAL, RESCALE_INTERCEPT, ct_datasets
from labelstack.imaging.volume import Volume, volume_from_datasets

C30, S30 = np.cos(np.radians(30)), np.sin(np.radians(30))
ORIENTATIONS = [
    pytest.param(AXIAL, id="axial"),
    pytest.param((1, 0, 0, 0, 0, -1), id="coronal"),
    pytest.param((0, 1, 0, 0, 0, -1), id="sagittal"),
    pytest.param((1, 0, 0, 0, -1, 0), id="axial-feet-first"),
    pytest.param((C30, S30, 0, -S30 * C30, C30 * C30, -S30), id="double-oblique"),
]
SHAPE = (7, 12, 10)


def _lps_of_pixel(ds, row: int, col: int) -> np.ndarray:  # noqa: ANN001
    """DICOM's own answer: ImagePositionPatient plus the offsets along the cosines."""
    position = np.array([float(v) for v in ds.ImagePositionPatient])
    cosines = np.array([float(v) for v in ds.ImageOrientationPatient])
    dy, dx = (float(v) for v in ds.PixelSpacing)
    return position + col * dx * cosines[:3] + row * dy * cosines[3:]


def _hu(ds) -> np.ndarray:  # noqa: ANN001
    return np.frombuffer(ds.PixelData, "<u2").reshape(ds.Rows, ds.Columns).astype(np.float32) \
        + RESCALE_INTERCEPT


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_affine_maps_every_voxel_centre_to_its_dicom_position(orientation) -> None:
    datasets = ct_datasets(shape=SHAPE, spacing=(2.5, 0.8, 0.6), orientation=orientation,
                           origin=(-31.5, 12.25, 140.0))
    random.Random(2).shuffle(datasets)
    volume = volume_from_datasets(datasets)
    image = nib.Nifti1Image.from_bytes(gzip.decompress(nifti.image_nifti(volume)))
    data = np.asanyarray(image.dataobj)
    assert data.shape == (SHAPE[2], SHAPE[1], SHAPE[0])  # (x, y, z): columns, rows, slices
    assert image.header.get_sform(coded=True)[1] == 1 and image.header.get_qform(coded=True)[1] == 1
    rows, cols = np.meshgrid(np.arange(SHAPE[1]), np.arange(SHAPE[2]), indexing="ij")
    for ds in datasets:
        # the NIfTI slice holding this file's pixels, found by content (every slice differs)
        [k] = [k for k in range(SHAPE[0]) if np.array_equal(data[:, :, k].T, _hu(ds))]
        ijk = np.stack([cols.ravel(), rows.ravel(), np.full(cols.size, k), np.ones(cols.size)])
        for affine in (image.affine, image.get_qform()):
            ras = (affine @ ijk)[:3].T
            lps = np.stack([_lps_of_pixel(ds, r, c) for r, c in zip(rows.ravel(), cols.ravel(),
                                                                     strict=True)])
            np.testing.assert_allclose(ras, lps * [-1, -1, 1], atol=1e-4)  # float32 header fields
        np.testing.assert_allclose(nifti.affine(volume) @ ijk[:, :1],
                                   np.r_[_lps_of_pixel(ds, 0, 0) * [-1, -1, 1], 1][:, None], atol=1e-6)


def test_axial_axes_are_left_posterior_superior_and_origin_flips_to_ras() -> None:
    volume = volume_from_datasets(ct_datasets(shape=SHAPE, origin=(-90.0, -80.0, -120.0)))
    affine = nifti.affine(volume)
    assert nib.aff2axcodes(affine) == ("L", "P", "S")  # i → patient left, j → posterior, k → head
    np.testing.assert_allclose(affine[:3, 3], [90.0, 80.0, -120.0])
    np.testing.assert_allclose(np.abs(np.diag(affine)[:3]), [0.7, 0.7, 2.5])
    np.testing.assert_allclose(nifti.voxel_to_lps(volume)[:3, 3], [-90.0, -80.0, -120.0])


def test_image_values_round_trip_as_int16_or_float32() -> None:
    volume = volume_from_datasets(ct_datasets(shape=SHAPE))
    back = nifti.from_nifti(nifti.image_nifti(volume, description="CT"))
    assert back.data.dtype == np.int16
    np.testing.assert_array_equal(back.data, volume.pixels)
    np.testing.assert_allclose(back.affine, nifti.affine(volume), atol=1e-4)
    volume.pixels = volume.pixels * 0.25  # no longer whole numbers
    back = nifti.from_nifti(nifti.image_nifti(volume))
    assert back.data.dtype == np.float32
    np.testing.assert_array_equal(back.data, volume.pixels)


def test_mask_round_trip_is_voxel_for_voxel_with_a_label_intent() -> None:
    volume = volume_from_datasets(ct_datasets(shape=SHAPE, orientation=ORIENTATIONS[4].values[0]))
    mask = np.random.default_rng(1).random(SHAPE) > 0.7
    data = nifti.mask_nifti(mask, volume, description="Lung v2")
    image = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    assert image.header.get_intent()[0] == "label"
    assert image.get_data_dtype() == np.uint8
    assert bytes(image.header["descrip"]).rstrip(b"\0") == b"Lung v2"
    back = nifti.from_nifti(data)
    np.testing.assert_array_equal(back.data, mask.astype(np.uint8))
    np.testing.assert_allclose(back.affine, nifti.affine(volume), atol=1e-4)
    with pytest.raises(ValueError, match="does not match"):
        nifti.mask_nifti(mask[:-1], volume)


def test_rgb_volume_round_trips_as_rgb24() -> None:
    pixels = np.random.default_rng(2).integers(0, 256, (4, 6, 5, 3), dtype=np.uint8)
    volume = Volume(pixels=pixels, spacing=(1.0, 0.2, 0.2), origin=(0.0, 0.0, 0.0),
                    orientation=AXIAL, modality="US", photometric="RGB", default_window=None,
                    series_uid="1.2", kind="cine")
    data = nifti.image_nifti(volume)
    assert nib.Nifti1Image.from_bytes(gzip.decompress(data)).header["datatype"] == 128  # RGB24
    np.testing.assert_array_equal(nifti.from_nifti(data).data, pixels)


def test_png_zip_has_one_0_255_frame_per_slice() -> None:
    mask = np.zeros((3, 9, 11), bool)
    mask[0, 2:5, 3:9] = True
    mask[2, -1, -1] = True
    with zipfile.ZipFile(io.BytesIO(nifti.mask_png_zip(mask))) as archive:
        names = archive.namelist()
        frames = [cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_UNCHANGED)
                  for n in names]
    assert names == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    for frame, expected in zip(frames, mask, strict=True):
        assert frame.dtype == np.uint8 and frame.shape == (9, 11)
        np.testing.assert_array_equal(frame, expected * 255)
    with pytest.raises(ValueError):
        nifti.mask_png_zip(mask[0])
