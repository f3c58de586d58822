"""Series → volumes: ordering along the normal, geometry, uneven spacing, splitting."""

from __future__ import annotations

import random
from io import BytesIO

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.uid import EnhancedCTImageStorage

from labelstack.imaging import ImagingError, main_stack_shape, volume_from_datasets, volumes_from_datasets
from labelstack.imaging.phantom import AXIAL, ct_datasets, phantom_ct, write_ct_series
from tests.phantoms import mixed_ct_datasets
from tests.unit.imaging.conftest import load, roundtrip

C30, S30 = np.cos(np.radians(30)), np.sin(np.radians(30))
ORIENTATIONS = [
    pytest.param(AXIAL, id="axial"),
    pytest.param((1, 0, 0, 0, 0, -1), id="coronal"),
    pytest.param((0, 1, 0, 0, 0, -1), id="sagittal"),
    pytest.param((1, 0, 0, 0, -1, 0), id="axial-feet-first"),
    pytest.param((C30, S30, 0, -S30 * C30, C30 * C30, -S30), id="double-oblique"),
]


def test_oblique_shuffled_uneven_series_from_files(tmp_path) -> None:
    orientation = (C30, S30, 0.0, -S30, C30, 0.0)
    paths = write_ct_series(
        tmp_path,
        shape=(24, 48, 40),
        spacing=(2.5, 0.8, 0.7),
        orientation=orientation,
        uneven=True,
        shuffle=True,
    )
    datasets = [pydicom.dcmread(p) for p in sorted(paths)]  # file-name order is random
    positions = [float(ds.ImagePositionPatient[2]) for ds in datasets]
    assert positions != sorted(positions)
    numbers = [int(ds.InstanceNumber) for ds in sorted(datasets, key=lambda d: float(d.SliceLocation))]
    assert numbers != sorted(numbers)

    volume = volume_from_datasets(datasets)

    np.testing.assert_array_equal(volume.pixels, phantom_ct((24, 48, 40)).astype(np.float32))
    assert volume.kind == "volume"
    assert volume.spacing == pytest.approx((2.5, 0.8, 0.7))
    assert volume.origin == pytest.approx((-90.0, -90.0, -120.0))
    assert volume.orientation == pytest.approx(orientation, abs=1e-6)
    assert volume.default_window == (40.0, 400.0)
    assert volume.modality == "CT" and volume.photometric == "MONOCHROME2"
    assert volume.series_uid == datasets[0].SeriesInstanceUID
    [warning] = volume.warnings
    assert "uneven slice spacing: gaps of 2.5, 5 mm" in warning


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_slices_sort_along_the_normal(ct_series, orientation) -> None:
    datasets = ct_series(shape=(12, 20, 24), orientation=orientation)
    random.Random(3).shuffle(datasets)
    for number, ds in enumerate(datasets):
        ds.InstanceNumber = number + 1
    volume = volume_from_datasets(datasets)
    np.testing.assert_array_equal(volume.pixels, phantom_ct((12, 20, 24)).astype(np.float32))
    assert volume.warnings == []
    assert volume.spacing == pytest.approx((2.5, 0.7, 0.7))


def test_localizer_and_other_sizes_are_split_off(ct_series) -> None:
    main = ct_series(shape=(10, 32, 32))
    localizer = ct_series(shape=(1, 40, 32), orientation=(0, 1, 0, 0, 0, -1))[0]
    localizer.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    small = ct_series(shape=(2, 16, 16), origin=(-90, -90, -400))
    datasets = [localizer, *small, *main]
    random.Random(1).shuffle(datasets)

    volumes = volumes_from_datasets(datasets)

    assert [v.pixels.shape for v in volumes] == [(10, 32, 32), (2, 16, 16), (1, 40, 32)]
    assert volumes[0].warnings == ["2 other stack(s) in this series shown separately"]
    assert "image size 16x16 differs from 32x32" in volumes[1].warnings[0]
    assert volumes[2].warnings == ["split off from the main stack: localizer"]
    assert volumes[2].kind == "image"
    assert volume_from_datasets(datasets).pixels.shape == (10, 32, 32)


def test_other_orientation_is_split_off(ct_series) -> None:
    datasets = ct_series(shape=(8, 16, 16)) + ct_series(shape=(3, 16, 16), orientation=(1, 0, 0, 0, 0, -1))
    volumes = volumes_from_datasets(datasets)
    assert [v.pixels.shape[0] for v in volumes] == [8, 3]
    assert "different orientation 1.000\\0.000\\0.000\\0.000\\0.000\\-1.000" in volumes[1].warnings[0]


def test_duplicate_positions_become_separate_stacks(ct_series) -> None:
    first, second = ct_series(shape=(6, 16, 16), seed=1), ct_series(shape=(6, 16, 16), seed=2)
    volumes = volumes_from_datasets(first + second)
    assert [v.pixels.shape[0] for v in volumes] == [6, 6]
    assert "duplicate slice positions" in volumes[1].warnings[0]


def test_single_radiograph_is_a_one_slice_image() -> None:
    volume = volume_from_datasets([load("RG1_UNCI.dcm")])
    assert volume.kind == "image"
    assert volume.pixels.shape == (1, 1955, 1841)
    assert volume.spacing[0] == 1.0
    assert volume.default_window == (15000.0, 30000.0)


def test_ultrasound_cine_is_a_frame_stack_with_frame_time() -> None:
    volume = volume_from_datasets([load("examples_ybr_color.dcm")])
    assert volume.kind == "cine"
    assert volume.pixels.shape == (30, 240, 320, 3) and volume.pixels.dtype == np.uint8
    assert volume.photometric == "RGB"
    assert volume.frame_time_ms == pytest.approx(33.333)


def test_images_without_position_stay_separate() -> None:
    volumes = volumes_from_datasets([load("US1_UNCR.dcm"), load("US1_UNCI.dcm")])
    assert [v.kind for v in volumes] == ["image", "image"]
    assert "separate image without slice position" in volumes[1].warnings[0]


def test_an_image_with_a_position_but_no_orientation_stays_separate(ct_series) -> None:
    stray = ct_series(shape=(1, 16, 16), seed=3)[0]
    del stray.ImageOrientationPatient
    volumes = volumes_from_datasets([*ct_series(shape=(4, 16, 16)), stray])
    assert [v.pixels.shape[0] for v in volumes] == [4, 1]
    assert "separate image without slice position" in volumes[1].warnings[0]


def test_enhanced_ct_real_file() -> None:
    volume = volume_from_datasets([load("eCT_Supplemental.dcm")])
    assert volume.kind == "volume" and volume.pixels.shape == (2, 512, 512)
    assert volume.spacing == pytest.approx((10.0, 0.388672, 0.388672))
    assert volume.orientation == (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    assert volume.default_window == (49.0, 102.0)


def test_enhanced_frames_sort_by_plane_position_with_per_frame_rescale() -> None:
    hu = phantom_ct((5, 8, 8))
    order = [3, 0, 4, 1, 2]
    volume = volume_from_datasets([_enhanced_ct(hu, order)])
    np.testing.assert_array_equal(volume.pixels, hu.astype(np.float32))
    assert volume.spacing == pytest.approx((3.0, 0.5, 0.5))
    assert volume.origin == pytest.approx((0.0, 0.0, -50.0))


def test_dose_grid_offsets_make_a_volume() -> None:
    volume = volume_from_datasets([load("rtdose.dcm")])
    assert volume.kind == "volume" and volume.pixels.shape == (15, 10, 10)
    assert volume.spacing[0] == pytest.approx(5.0)


def test_empty_and_non_image_series_are_rejected() -> None:
    with pytest.raises(ImagingError, match="no images"):
        volumes_from_datasets([])
    with pytest.raises(ImagingError, match="not an image"):
        volumes_from_datasets([pydicom.Dataset()])


def _enhanced_ct(hu: np.ndarray, order: list[int]) -> pydicom.Dataset:
    """Enhanced CT whose frames are stored in ``order`` with a different rescale per frame."""
    ds = load("eCT_Supplemental.dcm")
    ds.SOPClassUID = EnhancedCTImageStorage
    ds.NumberOfFrames, (ds.Rows, ds.Columns) = len(order), hu.shape[1:]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    shared = ds.SharedFunctionalGroupsSequence[0]
    shared.PixelMeasuresSequence[0].PixelSpacing = [0.5, 0.5]
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = list(AXIAL)
    del shared.PixelValueTransformationSequence
    frames, stored = [], []
    for k in order:
        item = pydicom.Dataset()
        item.PlanePositionSequence = [pydicom.Dataset()]
        item.PlanePositionSequence[0].ImagePositionPatient = [0.0, 0.0, -50.0 + 3.0 * k]
        transform = pydicom.Dataset()
        transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 2, -1100 - k, "HU"
        item.PixelValueTransformationSequence = [transform]
        frames.append(item)
        stored.append(((hu[k].astype(np.int32) + 1100 + k) // 2).astype("<u2"))
        hu[k] = stored[-1].astype(np.int32) * 2 - 1100 - k  # what the file can represent
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.PixelData = np.stack(stored).tobytes()
    return ds


@settings(max_examples=25, deadline=None)
@given(
    angles=st.tuples(*[st.floats(-np.pi, np.pi, allow_nan=False)] * 3),
    spacing=st.tuples(st.floats(0.5, 6.0), st.floats(0.3, 1.5), st.floats(0.3, 1.5)),
    seed=st.integers(0, 10_000),
)
def test_any_rotation_and_file_order_gives_the_same_volume(angles, spacing, seed) -> None:
    """Property: whatever the orientation and the order of the files, the stack is recovered."""
    rotation = _rotation(*angles)
    orientation = tuple(np.round(np.concatenate([rotation[:, 0], rotation[:, 1]]), 6))
    datasets = ct_datasets(shape=(6, 8, 10), spacing=spacing, orientation=orientation, seed=seed % 7)
    random.Random(seed).shuffle(datasets)
    for number, ds in enumerate(datasets):
        ds.InstanceNumber = len(datasets) - number
    volume = volume_from_datasets(datasets)
    np.testing.assert_array_equal(volume.pixels, phantom_ct((6, 8, 10), seed % 7).astype(np.float32))
    assert volume.spacing == pytest.approx(spacing, abs=1e-3)
    assert volume.warnings == []


def _rotation(a: float, b: float, c: float) -> np.ndarray:
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


def test_main_stack_opens_even_if_a_split_off_image_is_broken(ct_series) -> None:
    localizer = ct_series(shape=(1, 40, 32), orientation=(0, 1, 0, 0, 0, -1))[0]
    localizer.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    localizer.PixelData = localizer.PixelData[:100]
    datasets = [localizer, *ct_series(shape=(5, 16, 16))]
    assert volume_from_datasets(datasets).pixels.shape == (5, 16, 16)  # only the main stack is decoded
    with pytest.raises(ImagingError, match="truncated pixel data"):
        volumes_from_datasets(datasets)


def _echoes() -> list[pydicom.Dataset]:
    return ct_datasets(shape=(6, 16, 16), seed=1) + ct_datasets(shape=(6, 16, 16), seed=2)


SERIES = [
    pytest.param(mixed_ct_datasets, (10, 32, 32), id="localizer-and-other-sizes"),
    pytest.param(_echoes, (6, 16, 16), id="two-echoes"),
    pytest.param(lambda: [load("RG1_UNCI.dcm")], (1, 1955, 1841), id="radiograph"),
    pytest.param(lambda: [load("examples_ybr_color.dcm")], (30, 240, 320), id="colour-cine"),
    pytest.param(lambda: [load("eCT_Supplemental.dcm")], (2, 512, 512), id="enhanced-ct"),
    pytest.param(lambda: [load("rtdose.dcm")], (15, 10, 10), id="dose-grid"),
    pytest.param(lambda: [load("US1_UNCR.dcm"), load("US1_UNCI.dcm")], (1, 480, 640),
                 id="two-images-without-position"),
]


@pytest.mark.parametrize("make,shape", SERIES)
def test_main_stack_shape_from_headers_matches_the_volume(make, shape) -> None:
    datasets = [roundtrip(ds) for ds in make()]
    headers = [_header_only(ds) for ds in datasets]
    assert main_stack_shape(headers) == shape
    assert volume_from_datasets(datasets).pixels.shape[:3] == shape


def _header_only(ds: pydicom.Dataset) -> pydicom.Dataset:
    """What a store hands over without pixels: read back with ``stop_before_pixels``."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    header = pydicom.dcmread(buffer, stop_before_pixels=True)
    assert "PixelData" not in header
    return header
