"""Window/level: defaults, presets, and the fast float → uint8 mapping used for every frame."""

from __future__ import annotations

import weakref

import cv2
import numpy as np

from labelstack.imaging.volume import Volume

# Fixed presets by modality, (center, width) in modality units. Every modality also gets
# "auto" (data percentiles) from ``window_presets``; it cannot live in a static table.
PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "CT": {
        "brain": (40.0, 80.0),
        "soft tissue": (40.0, 400.0),
        "lung": (-600.0, 1500.0),
        "bone": (400.0, 1800.0),
        "liver": (60.0, 160.0),
    },
}
AUTO_PERCENTILES = (0.5, 99.5)
_AUTO_SAMPLES = 1 << 20
_auto_cache: dict[int, tuple[float, float]] = {}


def default_window(volume: Volume) -> tuple[float, float]:
    """The window to open with: the tags' window, else CT soft tissue, else ``auto_window``."""
    if volume.default_window is not None:
        return volume.default_window
    if volume.modality == "CT" and volume.photometric != "RGB":
        return PRESETS["CT"]["soft tissue"]
    return auto_window(volume)


def window_presets(volume: Volume) -> dict[str, tuple[float, float]]:
    """Named windows for the UI: default, the modality's presets, and auto."""
    return {
        "default": default_window(volume),
        **PRESETS.get(volume.modality, {}),
        "auto": auto_window(volume),
    }


def auto_window(volume: Volume) -> tuple[float, float]:
    """Window spanning the 0.5–99.5 percentiles of a voxel sample; memoised per pixel array."""
    if volume.photometric == "RGB":
        return (127.5, 255.0)
    key = id(volume.pixels)
    window = _auto_cache.get(key)
    if window is None:
        flat = volume.pixels.reshape(-1)
        sample = flat[:: max(1, flat.size // _AUTO_SAMPLES)]
        low, high = (float(v) for v in np.percentile(sample, AUTO_PERCENTILES))
        window = ((low + high) / 2, max(high - low, 1.0))
        _auto_cache[key] = window
        weakref.finalize(volume.pixels, _auto_cache.pop, key, None)
    return window


def apply_window(slice2d: np.ndarray, center: float, width: float, invert: bool = False) -> np.ndarray:
    """Linear window to uint8: ``(v - (center - width/2)) * 255 / width``, rounded and clipped.

    One saturating OpenCV pass (≈10× faster than numpy clip + astype at 512²).
    """
    width = max(float(width), 1e-6)
    alpha = 255.0 / width
    beta = -(float(center) - width / 2) * alpha
    src = np.ascontiguousarray(slice2d, dtype=np.float32)
    out = cv2.addWeighted(src, alpha, src, 0.0, beta, dtype=cv2.CV_8U)
    return cv2.bitwise_not(out, dst=out) if invert else out  # exactly 255 - v
