"""Window/level: the window to open with, the Window menu's presets (the file's own windows and
VOI LUT tables with their explanations, the modality's, auto)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from labelstack.imaging.display import FrameSpec, Voi, WindowSpec, default_voi, display_frame, window
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
MAX_FILE_WINDOWS = 12  # enhanced multi-frames may carry a window per frame
_AUTO_SAMPLES = 1 << 20
_auto_cache: dict[int, tuple[float, float]] = {}


def default_window(volume: Volume) -> tuple[float, float]:
    """The window to open with: the tags' window, else CT soft tissue, else ``auto_window``."""
    if volume.default_window is not None:
        return volume.default_window
    if volume.modality == "CT" and volume.photometric != "RGB":
        return PRESETS["CT"]["soft tissue"]
    return auto_window(volume)


@dataclass(frozen=True, slots=True)
class Preset:
    """One entry of the Window menu. ``own``: the file's own VOI, slice by slice (render with no
    explicit window); ``table``: the file's VOI LUT table of that index. ``center``/``width``
    are the window shown (and where a drag starts) in every case."""

    label: str
    center: float
    width: float
    table: int | None = None
    own: bool = False


def window_presets(volume: Volume) -> dict[str, Preset]:
    """The Window menu: the file's own VOI (default), each window and VOI LUT table the file
    carries with its explanation, the modality's presets, and auto."""
    center, width = default_window(volume)
    spec = volume.display
    middle = spec["frames"][spec["slices"][len(spec["slices"]) // 2]] if spec else None
    own = middle is not None and default_voi(middle) is not None
    presets = {"default": Preset(_default_label(volume, middle), center, width, own=own)}
    for k, win in enumerate(_file_windows(volume)):
        name = win["explanation"] or f"File window {k + 1}"
        presets[f"file {k + 1}"] = Preset(f"{name} · {_wl(win['center'], win['width'])}",
                                          win["center"], win["width"])
    for k, table in enumerate(middle["tables"] if middle else []):
        name = table["explanation"] or f"VOI LUT {k + 1}"
        presets[f"table {k + 1}"] = Preset(f"{name} (VOI LUT)", center, width, table=k)
    for name, (c, w) in PRESETS.get(volume.modality, {}).items():
        presets[name] = Preset(f"{name.capitalize()} · {_wl(c, w)}", c, w)
    c, w = auto_window(volume)
    presets["auto"] = Preset(f"Auto · {_wl(c, w)}", c, w)
    return presets


def _default_label(volume: Volume, middle: FrameSpec | None) -> str:
    voi = default_voi(middle) if middle is not None else None
    if voi is None:
        return f"Default · {_wl(*default_window(volume))}"
    distinct: list[Voi | None] = []
    for frame in volume.display["frames"] if volume.display else []:
        if (own := default_voi(frame)) not in distinct:
            distinct.append(own)
    if len(distinct) > 1:
        return "Default · each frame's own window (from the file)"
    if voi["kind"] == "table":
        return f"Default · {voi['explanation'] or 'VOI LUT'} (VOI LUT)"
    return f"Default · {voi['explanation'] or 'file window'} · {_wl(voi['center'], voi['width'])}"


def _file_windows(volume: Volume) -> list[WindowSpec]:
    """The distinct windows of all frames, in order, at most ``MAX_FILE_WINDOWS``."""
    out: list[WindowSpec] = []
    for frame in (volume.display or {"frames": []})["frames"]:
        for win in frame["windows"]:
            if win not in out and len(out) < MAX_FILE_WINDOWS:
                out.append(win)
    return out


def _wl(center: float, width: float) -> str:
    return f"W {width:g} L {center:g}"


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
    """The standard's LINEAR window (PS3.3 C.11.2.1.2.1) to uint8, for values with no display
    pipeline (``imaging.display``: evaluated per pixel in float64, rounded half up)."""
    return display_frame(slice2d, None, window(center, width), invert)
