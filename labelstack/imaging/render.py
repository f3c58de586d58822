"""One displayed frame: slice → display pipeline (``imaging.display``) → label overlays → encode."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from labelstack.imaging.display import FrameSpec, Voi, choose_voi, display_frame
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import Plane, extract_slice, slice_map, stack_position
from labelstack.imaging.volume import Volume
from labelstack.imaging.window import default_window

Overlay = tuple[np.ndarray, tuple[int, int, int]]
FORMATS = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "webp": ".webp"}
THUMBNAIL_SIZE = 128
THUMBNAIL_QUALITY = 85


def render_slice(
    volume: Volume,
    plane: Plane | str = Plane.axial,
    index: int = 0,
    *,
    center: float | None = None,
    width: float | None = None,
    invert: bool = False,
    table: int | None = None,
    overlays: Sequence[Overlay] = (),
    opacity: float = 0.4,
    fmt: str = "png",
    quality: int = 90,
) -> bytes:
    """Encoded image of one slice at its native pixel grid (the browser scales it)."""
    image = window_slice(volume, plane, index, center=center, width=width, invert=invert, table=table)
    if overlays:
        image = blend_overlays(image, overlays, opacity)
    return encode(image, fmt, quality)


def thumbnail(volume: Volume, size: int = THUMBNAIL_SIZE, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """JPEG of the middle axial image in the default window, shrunk (never enlarged) with
    ``INTER_AREA`` so that its longer side is at most ``size`` pixels."""
    image = window_slice(volume, Plane.axial, volume.shape[0] // 2)
    scale = size / max(image.shape[:2])
    if scale < 1:
        dsize = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, dsize, interpolation=cv2.INTER_AREA)
    return encode(image, "jpeg", quality)


def window_slice(
    volume: Volume,
    plane: Plane | str = Plane.axial,
    index: int = 0,
    *,
    center: float | None = None,
    width: float | None = None,
    invert: bool = False,
    table: int | None = None,
) -> np.ndarray:
    """uint8 grey (rows, cols) for monochrome, BGR (rows, cols, 3) for colour.

    With neither ``center`` nor ``width`` each slice shows as its file says (its first VOI
    LUT table, else its first window, else ``default_window``); ``table`` picks another of the
    file's VOI LUT tables; a window given (either half completes from ``default_window``) is
    applied with the file's VOI LUT Function. MONOCHROME1 and Presentation LUT Shape INVERSE
    are flipped here, so ``invert`` always means "flip what the radiologist would normally
    see". Colour images ignore the window.
    """
    data = extract_slice(volume, plane, index)
    if volume.photometric == "RGB":
        bgr = cv2.cvtColor(np.ascontiguousarray(data), cv2.COLOR_RGB2BGR)
        return cv2.bitwise_not(bgr) if invert else bgr
    spec = volume.display
    if spec is None:
        inverse = volume.photometric == "MONOCHROME1"
        frame = None
        own = None
    else:
        inverse = spec["inverse"]
        own = spec["frames"][spec["slices"][stack_position(volume, plane, index)]]
        stacked = slice_map(volume, plane).axes[0] == 0
        frame = own if stacked or len(spec["frames"]) == 1 else None  # across frames: per pixel
    return display_frame(data, frame, _voi(volume, own, center, width, table), inverse != invert)


def _voi(volume: Volume, own: FrameSpec | None, center: float | None, width: float | None,
         table: int | None) -> Voi:
    return choose_voi(own, center, width, table, lambda: default_window(volume))


def blend_overlays(image: np.ndarray, overlays: Sequence[Overlay], opacity: float = 0.4) -> np.ndarray:
    """Colour each mask's pixels: ``(1 - opacity) * image + opacity * colour`` inside the mask."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    for mask, (r, g, b) in overlays:
        if mask.shape != out.shape[:2]:
            raise ImagingError(f"overlay mask shape {mask.shape} does not match the slice {out.shape[:2]}")
        mask8 = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
        x, y, w, h = cv2.boundingRect(mask8)  # blend only where the label is
        if w == 0:
            continue
        roi, roi_mask = out[y : y + h, x : x + w], mask8[y : y + h, x : x + w]
        colour = np.empty_like(roi)
        colour[:] = (b, g, r)
        blended = cv2.addWeighted(roi, 1.0 - opacity, colour, opacity, 0.0)
        cv2.copyTo(blended, roi_mask, roi)
    return out


def encode(image: np.ndarray, fmt: str = "png", quality: int = 90) -> bytes:
    """PNG (lossless), JPEG or WebP bytes via ``cv2.imencode``.

    PNG keeps OpenCV's defaults (level 1 with the RLE strategy): naming a level switches
    the strategy back to zlib's default and is 1.5–2× slower on CT noise.
    """
    ext = FORMATS.get(fmt.lower())
    if ext is None:
        raise ImagingError(f"unknown image format {fmt!r}; expected png, jpeg or webp")
    params = {
        ".png": [],
        ".jpg": [cv2.IMWRITE_JPEG_QUALITY, int(quality)],
        ".webp": [cv2.IMWRITE_WEBP_QUALITY, int(quality)],
    }[ext]
    ok, buffer = cv2.imencode(ext, image, params)
    if not ok:
        raise ImagingError(f"OpenCV could not encode the slice as {fmt}")
    return buffer.tobytes()
