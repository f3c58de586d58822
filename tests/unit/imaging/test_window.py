"""Window defaults, presets and the float → uint8 mapping."""

from __future__ import annotations

import numpy as np
import pytest

from labelstack.imaging import apply_window, default_window, window_presets, window_slice
from tests.unit.imaging.helpers import make_volume

RAMP = np.linspace(-1500, 2500, 64 * 64, dtype=np.float32).reshape(64, 64)


def reference_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 (LINEAR) with ymin = 0, ymax = 255, rounded half up."""
    x, c, w = values.astype(np.float64), center - 0.5, max(width, 1) - 1
    if w == 0:
        return np.where(x <= c, 0, 255)
    return np.clip(np.floor(((x - c) / w + 0.5) * 255 + 0.5), 0, 255)


DEFAULTS = [
    pytest.param("CT", (50.0, 350.0), (50.0, 350.0), id="tags-win"),
    pytest.param("CT", None, (40.0, 400.0), id="CT-soft-tissue"),
    pytest.param("MR", None, None, id="MR-percentiles"),
]


@pytest.mark.parametrize(("modality", "tags", "expected"), DEFAULTS)
def test_default_window(modality: str, tags, expected) -> None:
    pixels = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    window = default_window(make_volume(pixels, modality=modality, default_window=tags))
    if expected is None:  # 0.5 and 99.5 percentiles of 0..999
        expected = ((4.995 + 994.005) / 2, 994.005 - 4.995)
    assert window == pytest.approx(expected)


# The HU range each CT preset should show from black to white (the usual L/W of radiology
# teaching: brain 40/80, soft tissue 40/400, lung -600/1500, bone 400/1800, liver 60/160),
# written as ranges so that it does not repeat the module's (center, width) table.
CT_RANGES = {
    "brain": (0, 80),
    "soft tissue": (-160, 240),
    "lung": (-1350, 150),
    "bone": (-500, 1300),
    "liver": (-20, 140),
}


@pytest.mark.parametrize(("name", "shown"), CT_RANGES.items(), ids=list(CT_RANGES))
def test_ct_preset_shows_its_hu_range(name: str, shown: tuple[int, int]) -> None:
    """A 1 HU ramp through the preset: black up to the range's start, white from its end,
    grey in between (each within one grey step, width / 255 HU, of the documented bound)."""
    hu = np.arange(-2000, 3001, dtype=np.float32)
    volume = make_volume(hu.reshape(1, 1, -1), modality="CT")
    preset = window_presets(volume)[name]
    center, width = preset.center, preset.width
    grey = window_slice(volume, "axial", 0, center=center, width=width).ravel()
    last_black, first_white = hu[grey == 0].max(), hu[grey == 255].min()
    step = (shown[1] - shown[0]) / 255
    assert last_black == pytest.approx(shown[0], abs=step)
    assert first_white == pytest.approx(shown[1] - 1, abs=step)  # LINEAR: white from c + w/2 - 1
    assert (np.diff(grey.astype(int)) >= 0).all()


def test_ct_offers_exactly_the_documented_presets() -> None:
    presets = window_presets(make_volume(modality="CT"))
    assert set(presets) == {"default", "auto", *CT_RANGES}


@pytest.mark.parametrize("modality", ["CT", "MR", "US", "CR"])
def test_every_modality_offers_auto(modality: str) -> None:
    presets = window_presets(make_volume(modality=modality))
    assert "auto" in presets and "default" in presets
    assert ("lung" in presets) == (modality == "CT")


@pytest.mark.parametrize(("center", "width"), [(40, 400), (-600, 1500), (0, 1), (1000.5, 3.5)])
def test_apply_window_matches_the_formula(center: float, width: float) -> None:
    out = apply_window(RAMP, center, width)
    assert out.dtype == np.uint8 and out.shape == RAMP.shape
    np.testing.assert_array_equal(out, reference_window(RAMP, center, width))
    assert (np.diff(out.ravel().astype(int)) >= 0).all()  # monotonic on a ramp


def test_invert_flips_the_grey_scale() -> None:
    plain, inverted = apply_window(RAMP, 40, 400), apply_window(RAMP, 40, 400, invert=True)
    np.testing.assert_array_equal(inverted, 255 - plain)
    assert inverted[0, 0] == 255 and inverted[-1, -1] == 0


def test_non_contiguous_slices_are_accepted() -> None:
    out = apply_window(RAMP[:, ::2], 40, 400)
    np.testing.assert_array_equal(out, apply_window(np.ascontiguousarray(RAMP[:, ::2]), 40, 400))
