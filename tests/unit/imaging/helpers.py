"""Small in-memory volumes for the geometry, window, render and cache tests."""

from __future__ import annotations

import numpy as np

from labelstack.imaging import Volume


def make_volume(
    pixels: np.ndarray | None = None,
    *,
    spacing: tuple[float, float, float] = (3.0, 0.5, 0.75),
    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    modality: str = "CT",
    photometric: str = "MONOCHROME2",
    default_window: tuple[float, float] | None = None,
    kind: str = "volume",
) -> Volume:
    if pixels is None:
        pixels = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    return Volume(
        pixels=pixels,
        spacing=spacing,
        origin=(0.0, 0.0, 0.0),
        orientation=orientation,
        modality=modality,
        photometric=photometric,
        default_window=default_window,
        series_uid="1.2.3",
        kind=kind,
        warnings=[],
    )
