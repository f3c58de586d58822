"""Window defaults, presets and the float → uint8 mapping."""

from __future__ import annotations

import numpy as np
import pytest

from labelstack.imaging import PRESETS, apply_window, default_window, window_presets
from tests.unit.imaging.helpers import make_volume

RAMP = np.linspace(-1500, 2500, 64 * 64, dtype=np.float32).reshape(64, 64)


def reference_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    return np.clip(np.rint((values.astype(np.float64) - (center - width / 2)) * 255 / width), 0, 255)


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


def test_ct_presets() -> None:
    assert set(PRESETS["CT"]) == {"brain", "soft tissue", "lung", "bone", "liver"}
    assert PRESETS["CT"]["lung"] == (-600.0, 1500.0)


@pytest.mark.parametrize("modality", ["CT", "MR", "US", "CR"])
def test_every_modality_offers_auto(modality: str) -> None:
    presets = window_presets(make_volume(modality=modality))
    assert "auto" in presets and "default" in presets
    assert ("lung" in presets) == (modality == "CT")


@pytest.mark.parametrize(("center", "width"), [(40, 400), (-600, 1500), (0, 1), (1000.5, 3.5)])
def test_apply_window_matches_the_formula(center: float, width: float) -> None:
    out = apply_window(RAMP, center, width)
    assert out.dtype == np.uint8 and out.shape == RAMP.shape
    assert np.abs(out.astype(int) - reference_window(RAMP, center, width)).max() <= 1
    assert (np.diff(out.ravel().astype(int)) >= 0).all()  # monotonic on a ramp


def test_invert_flips_the_grey_scale() -> None:
    plain, inverted = apply_window(RAMP, 40, 400), apply_window(RAMP, 40, 400, invert=True)
    np.testing.assert_array_equal(inverted, 255 - plain)
    assert inverted[0, 0] == 255 and inverted[-1, -1] == 0


def test_non_contiguous_slices_are_accepted() -> None:
    out = apply_window(RAMP[:, ::2], 40, 400)
    np.testing.assert_array_equal(out, apply_window(np.ascontiguousarray(RAMP[:, ::2]), 40, 400))
