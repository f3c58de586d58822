"""Transfer functions of the volume rendering: the CT presets (in HU, after 3D Slicer's) and a
default from the data range for every other modality. Pure data, so the UI lists them and the
tests check them without VTK."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[float, float, float, float, float]  # value, r, g, b, opacity


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    title: str
    points: tuple[Point, ...]

    def scaled(self, opacity: float) -> tuple[Point, ...]:
        """The points with every opacity times `opacity` (the opacity slider)."""
        return tuple((v, r, g, b, min(1.0, a * opacity)) for v, r, g, b, a in self.points)


CT_PRESETS: tuple[Preset, ...] = (
    Preset("soft-tissue", "Soft tissue", (
        (-1024, 0.0, 0.0, 0.0, 0.0), (-200, 0.0, 0.0, 0.0, 0.0), (-120, 0.45, 0.22, 0.14, 0.004),
        (20, 0.70, 0.45, 0.36, 0.012), (80, 0.85, 0.62, 0.52, 0.03), (300, 1.0, 0.92, 0.85, 0.35),
        (3071, 1.0, 1.0, 1.0, 0.6))),
    Preset("bone", "Bone", (
        (-1024, 0.0, 0.0, 0.0, 0.0), (140, 0.0, 0.0, 0.0, 0.0), (160, 0.62, 0.0, 0.0, 0.0),
        (190, 0.91, 0.45, 0.0, 0.45), (220, 0.97, 0.81, 0.36, 0.70), (400, 0.91, 0.91, 1.0, 0.83),
        (3071, 1.0, 1.0, 1.0, 0.80))),
    Preset("lung", "Lung", (
        (-1024, 0.0, 0.0, 0.0, 0.0), (-980, 0.30, 0.30, 1.0, 0.0), (-900, 0.20, 0.55, 0.95, 0.03),
        (-700, 0.35, 0.80, 0.90, 0.08), (-500, 0.90, 0.45, 0.40, 0.02), (-300, 0.0, 0.0, 0.0, 0.0),
        (3071, 0.0, 0.0, 0.0, 0.0))),
    Preset("vessels", "Vessels (contrast)", (
        (-1024, 0.0, 0.0, 0.0, 0.0), (-90, 0.0, 0.25, 1.0, 0.0), (45, 0.6, 0.0, 0.0, 0.006),
        (140, 1.0, 0.30, 0.25, 0.45), (350, 1.0, 0.95, 0.6, 0.61), (1220, 1.0, 1.0, 1.0, 0.61),
        (3071, 0.83, 0.66, 1.0, 0.62))),
)
DEFAULT_NAME = "default"


def presets_for(modality: str, low: float, high: float) -> tuple[Preset, ...]:
    """The presets a volume offers, the first one shown first: the CT ones for CT, else one
    ramp over the data range (`low`, `high`: a low and a high percentile of the voxels)."""
    if modality == "CT":
        return CT_PRESETS
    return (ramp(low, high),)


def ramp(low: float, high: float) -> Preset:
    """Dark and clear below the middle of the range, bright and denser towards the top."""
    span = max(high - low, 1e-6)
    at = lambda f: low + f * span  # noqa: E731
    return Preset(DEFAULT_NAME, "Default", (
        (at(0.0), 0.0, 0.0, 0.0, 0.0), (at(0.3), 0.35, 0.20, 0.12, 0.0),
        (at(0.6), 0.85, 0.60, 0.45, 0.15), (at(1.0), 1.0, 0.97, 0.92, 0.55)))


def data_range(pixels: np.ndarray, samples: int = 200_000) -> tuple[float, float]:
    """The 1st and 99.5th percentiles of a strided sample of the voxels (cheap on a memmap)."""
    flat = pixels.reshape(-1)
    sample = np.asarray(flat[:: max(1, flat.size // samples)], dtype=np.float64)
    low, high = np.percentile(sample, (1.0, 99.5))
    return float(low), float(high)
