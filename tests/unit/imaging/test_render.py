"""Rendered frames: exact PNG round trip, JPEG/WebP, overlays, MONOCHROME1, colour, thumbnails."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from labelstack.imaging import ImagingError, render_slice, volume_from_datasets, window_slice
from labelstack.imaging.mpr import slice_count, slice_map, stack_position
from labelstack.imaging.phantom import ct_datasets, phantom_ct
from labelstack.imaging.render import thumbnail
from tests.unit.imaging.conftest import load
from tests.unit.imaging.helpers import make_volume

PIXELS = np.random.default_rng(0).integers(-1024, 2000, (6, 40, 50)).astype(np.float32)


def decode(data: bytes, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal"])
def test_png_is_exactly_the_windowed_slice(plane: str) -> None:
    volume = make_volume(PIXELS)
    expected = window_slice(volume, plane, 2, center=40, width=400)
    np.testing.assert_array_equal(decode(render_slice(volume, plane, 2, center=40, width=400)), expected)


def test_default_window_is_used_without_center_and_width() -> None:
    volume = make_volume(PIXELS, default_window=(100.0, 500.0))
    np.testing.assert_array_equal(window_slice(volume), window_slice(volume, center=100, width=500))


@pytest.mark.parametrize(("fmt", "magic"), [("jpeg", b"\xff\xd8"), ("webp", b"RIFF"), ("png", b"\x89PNG")])
def test_formats(fmt: str, magic: bytes) -> None:
    volume = make_volume(PIXELS)
    data = render_slice(volume, fmt=fmt, quality=95)
    assert data.startswith(magic)
    error = np.abs(decode(data, cv2.IMREAD_GRAYSCALE).astype(int) - window_slice(volume).astype(int))
    assert error.mean() < 8


def test_overlays_are_blended_inside_their_masks_only() -> None:
    volume = make_volume(np.full((1, 20, 30), 40.0, np.float32))  # mid grey at W/L 40/400
    red, green = np.zeros((20, 30), bool), np.zeros((20, 30), bool)
    red[2:8, 3:9], green[10:15, 20:25] = True, True
    image = decode(
        render_slice(
            volume, center=40, width=400, overlays=[(red, (255, 0, 0)), (green, (0, 255, 0))], opacity=0.5
        )
    )
    grey = 128
    half, full = grey / 2, (grey + 255) / 2
    assert tuple(image[5, 5]) == pytest.approx((half, half, full), abs=1)  # BGR
    assert tuple(image[12, 22]) == pytest.approx((half, full, half), abs=1)
    assert tuple(image[18, 1]) == (grey, grey, grey)


def test_overlay_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ImagingError, match="does not match the slice"):
        render_slice(make_volume(PIXELS), overlays=[(np.zeros((3, 3), bool), (1, 2, 3))])


def test_unknown_format() -> None:
    with pytest.raises(ImagingError, match="unknown image format 'gif'"):
        render_slice(make_volume(PIXELS), fmt="gif")


def test_monochrome1_is_displayed_inverted() -> None:
    volume = volume_from_datasets([load("RG3_UNCR.dcm")])
    assert volume.photometric == "MONOCHROME1"
    low = np.unravel_index(np.argmin(volume.pixels[0]), volume.pixels.shape[1:])
    shown = window_slice(volume)
    assert shown[low] == shown.max()  # low stored values (no attenuation) show white
    np.testing.assert_array_equal(window_slice(volume, invert=True), 255 - shown)


def test_colour_image_renders_as_bgr() -> None:
    volume = volume_from_datasets([load("SC_rgb.dcm")])
    image = decode(render_slice(volume))
    assert tuple(image[5, 50]) == (0, 0, 255)  # red, in OpenCV's BGR


def test_empty_overlay_changes_nothing() -> None:
    volume = make_volume(PIXELS)
    empty = np.zeros(PIXELS.shape[1:], bool)
    image = decode(render_slice(volume, overlays=[(empty, (255, 0, 0))]))
    np.testing.assert_array_equal(image, cv2.cvtColor(window_slice(volume), cv2.COLOR_GRAY2BGR))


THUMBNAILS = [
    pytest.param((5, 300, 200), (128, 85), id="tall"),
    pytest.param((3, 100, 400), (32, 128), id="wide"),
    pytest.param((1, 128, 128), (128, 128), id="exact"),
    pytest.param((2, 40, 50), (40, 50), id="small-is-not-enlarged"),
]


@pytest.mark.parametrize(("shape", "size"), THUMBNAILS)
def test_thumbnail_is_the_middle_slice_shrunk_into_128_pixels(shape, size) -> None:
    volume = make_volume(phantom_ct(shape, seed=None).astype(np.float32))
    data = thumbnail(volume)
    assert data.startswith(b"\xff\xd8")  # JPEG
    image = decode(data)
    assert image.shape == size
    expected = cv2.resize(window_slice(volume, "axial", shape[0] // 2), size[::-1],
                          interpolation=cv2.INTER_AREA)
    assert np.abs(image.astype(int) - expected.astype(int)).mean() < 3


def test_thumbnail_size_is_a_parameter() -> None:
    volume = make_volume(phantom_ct((1, 300, 200), seed=None).astype(np.float32))
    assert decode(thumbnail(volume, size=64)).shape == (64, 43)


def test_colour_thumbnail_keeps_its_colours() -> None:
    volume = volume_from_datasets([load("SC_rgb.dcm")])
    image = decode(thumbnail(volume))
    assert image.ndim == 3 and max(image.shape[:2]) <= 128
    assert np.abs(image[2, 40].astype(int) - (0, 0, 255)).max() < 40  # red, in BGR


@pytest.mark.parametrize("orientation", [(0.0, 1.0, 0.0, 0.0, 0.0, -1.0),    # sagittal slices
                                         (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0)])  # stacked feet first
def test_each_slice_of_a_turned_acquisition_shows_in_its_own_file_window(orientation) -> None:
    """The display settings are the stored slices': an axial view of sagittal slices has more
    slices than there are files, and one stacked feet first shows the files in reverse."""
    datasets = ct_datasets(shape=(6, 20, 24), orientation=orientation, seed=1)
    for k, ds in enumerate(datasets):
        ds.WindowCenter, ds.WindowWidth = 10.0 * k, 100.0 + 50 * k
    volume = volume_from_datasets(datasets)
    for plane in ("axial", "coronal", "sagittal"):
        for index in range(slice_count(volume, plane)):
            own = render_slice(volume, plane, index)
            stored = stack_position(volume, plane, index)
            center, width = 10.0 * stored, 100.0 + 50 * stored
            mapping = slice_map(volume, plane)
            if mapping.axes[0] == 0:  # the plane is the stored slices: each in its window
                assert own == render_slice(volume, plane, index, center=center, width=width)
