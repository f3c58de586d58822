"""Pixels and geometry: DICOM decode, series → volume, window/level, MPR, render, cache.

Pure numpy / OpenCV / pydicom; no database, no UI.
"""

from labelstack.imaging.cache import VolumeCache
from labelstack.imaging.decode import check_decodable, decode_frames
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import PLANES, Plane, SliceIndexError, display_aspect, extract_slice, slice_count
from labelstack.imaging.render import render_slice, window_slice
from labelstack.imaging.volume import Volume, main_stack_shape, volume_from_datasets, volumes_from_datasets
from labelstack.imaging.window import PRESETS, apply_window, default_window, window_presets

__all__ = [
    "PLANES",
    "PRESETS",
    "Plane",
    "ImagingError",
    "SliceIndexError",
    "Volume",
    "VolumeCache",
    "apply_window",
    "check_decodable",
    "decode_frames",
    "default_window",
    "display_aspect",
    "extract_slice",
    "main_stack_shape",
    "render_slice",
    "slice_count",
    "volume_from_datasets",
    "volumes_from_datasets",
    "window_presets",
    "window_slice",
]
