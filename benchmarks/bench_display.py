"""The display pipeline on one 512×512 CT frame: the lookup-table path against per-pixel floats.

Ours: ``display.display_frame`` with the frame's spec (one saturating OpenCV pass to the stored
value, one ``np.take`` of the memoised 2^16-entry table). Baselines, same run, same exact output:
the same formulas per pixel in float64 (the path of frames without an integer domain), and
pydicom's ``apply_modality_lut`` + ``apply_windowing`` (its output range mapped to 0 … 255).
"""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut, apply_windowing

from benchmarks import interleaved_ms, print_table
from labelstack.imaging.display import FrameSpec, display_frame, to_uint8, window
from labelstack.imaging.phantom import phantom_ct

CENTER, WIDTH, INTERCEPT = 40.0, 400.0, -1024.0


def main() -> None:
    stored = (phantom_ct((1, 512, 512))[0] - INTERCEPT).astype(np.int16)
    modality = stored.astype(np.float32) + np.float32(INTERCEPT)  # what a volume holds
    spec = FrameSpec(slope=1.0, intercept=INTERCEPT, low=-32768, windows=[], tables=[])
    voi = window(CENTER, WIDTH)
    ds = pydicom.Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "MONOCHROME2", 8, 0
    ds.WindowCenter, ds.WindowWidth = CENTER, WIDTH
    rescale = pydicom.Dataset()
    rescale.RescaleSlope, rescale.RescaleIntercept = 1, INTERCEPT

    def pydicom_path() -> np.ndarray:
        return to_uint8(apply_windowing(apply_modality_lut(stored, rescale), ds))

    lut = display_frame(modality, spec, voi, False)
    assert np.array_equal(lut, display_frame(modality, None, voi, False))
    assert np.array_equal(lut, pydicom_path())
    ms = interleaved_ms({"lut": lambda: display_frame(modality, spec, voi, False),
                         "float": lambda: display_frame(modality, None, voi, False),
                         "pydicom": pydicom_path}, repeat=50)
    print_table(["path (512×512 CT frame, W 400 L 40, exact)", "ms", "× LUT path"], [
        ["LUT: cv2.addWeighted → uint16 index, np.take", ms["lut"], 1.0],
        ["float64 formulas per pixel", ms["float"], ms["float"] / ms["lut"]],
        ["pydicom apply_modality_lut + apply_windowing", ms["pydicom"], ms["pydicom"] / ms["lut"]],
    ])


if __name__ == "__main__":
    main()
