"""One slice render per plane (W/L + label overlay + encode) on a 512×512×300 CT volume.

Ours: ``render_slice`` (OpenCV saturating window, ``addWeighted`` + ``copyTo`` overlay, JPEG).
Baseline: float numpy windowing, numpy boolean-index overlay, PNG — the straightforward way.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks import interleaved_ms, print_table
from labelstack.imaging import Volume, extract_slice, render_slice
from labelstack.imaging.phantom import AXIAL, phantom_ct

SHAPE = (300, 512, 512)
CENTER, WIDTH, OPACITY, COLOUR = 40.0, 400.0, 0.4, (255, 64, 0)


def main() -> None:
    volume = Volume(
        pixels=phantom_ct(SHAPE).astype(np.float32),
        spacing=(1.0, 0.7, 0.7),
        origin=(0.0, 0.0, 0.0),
        orientation=AXIAL,
        modality="CT",
        photometric="MONOCHROME2",
        default_window=(CENTER, WIDTH),
        series_uid="bench",
        kind="volume",
        warnings=[],
    )
    mask = _blob_mask(SHAPE)
    rows = []
    for plane in ("axial", "coronal", "sagittal"):
        index = volume.pixels.shape[{"axial": 0, "coronal": 1, "sagittal": 2}[plane]] // 2

        def ours(fmt: str, plane: str = plane, index: int = index) -> bytes:
            overlay = extract_slice(volume, plane, index, data=mask)
            return render_slice(
                volume,
                plane,
                index,
                center=CENTER,
                width=WIDTH,
                overlays=[(overlay, COLOUR)],
                opacity=OPACITY,
                fmt=fmt,
                quality=90,
            )

        def baseline(plane: str = plane, index: int = index) -> bytes:
            return _naive_render(
                extract_slice(volume, plane, index), extract_slice(volume, plane, index, data=mask)
            )

        shape = "x".join(map(str, extract_slice(volume, plane, index).shape))
        ms = interleaved_ms(
            {"jpeg": lambda: ours("jpeg"), "png": lambda: ours("png"), "naive": baseline}, repeat=50
        )
        rows.append(
            (
                plane,
                shape,
                ms["jpeg"],
                ms["png"],
                ms["naive"],
                f"{ms['naive'] / ms['jpeg']:.1f}x",
                f"{ms['naive'] / ms['png']:.1f}x",
            )
        )
    print(
        f"Slice render, generated CT {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]}, "
        f"W/L {CENTER:g}/{WIDTH:g} + one overlay, median ms"
    )
    print_table(
        [
            "plane",
            "slice",
            "ours JPEG q90",
            "ours PNG",
            "baseline numpy+PNG",
            "baseline / ours JPEG",
            "baseline / ours PNG",
        ],
        rows,
    )


def _naive_render(slice2d: np.ndarray, mask: np.ndarray) -> bytes:
    low = CENTER - WIDTH / 2
    grey = np.clip((slice2d - low) / WIDTH * 255.0, 0, 255).astype(np.uint8)
    bgr = np.stack([grey, grey, grey], axis=-1)
    colour = np.array(COLOUR[::-1], np.float32)
    bgr[mask] = (bgr[mask] * (1 - OPACITY) + colour * OPACITY).astype(np.uint8)
    return cv2.imencode(".png", bgr)[1].tobytes()


def _blob_mask(shape: tuple[int, int, int]) -> np.ndarray:
    """A sphere of radius 80 voxels in the middle: a typical organ-sized label."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return (z - shape[0] // 2) ** 2 + (y - shape[1] // 2) ** 2 + (x - shape[2] // 2) ** 2 <= 80**2


if __name__ == "__main__":
    main()
