"""Colour to the level: what the viewer shows of every colour file of pydicom / pydicom-data
equals pydicom's own conversion (issue 10; the grey files are in ``test_display_pipeline``).

The reference, per frame: the stored values as pydicom's decoder returns them (what
``pixel_array`` calls; the JPEG 2000 codec already turns YBR_ICT / YBR_RCT into RGB), then
YBR_FULL / YBR_FULL_422 to RGB by pydicom's ``convert_color_space`` (PS3.3 C.7.6.3.1.2, the
JFIF inverse of ITU-T T.871 §7), PALETTE COLOR through pydicom's ``apply_color_lut``; then values
of n > 8 bits (n = Bits Stored, or a palette's bits per entry) to 8 bits by the full-range rule
``floor(v · 255 / (2^n − 1) + 1/2)``: PS3.3 C.7.6.3.1.6 scales palette entries over their full
range (8-bit v is 16-bit 257 · v), and the grey pipeline maps VOI LUT output the same way.
First and last frame of multi-frame files; every comparison is exact (0 levels).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_color_lut, convert_color_space, get_decoder

from labelstack.imaging import extract_slice, volume_from_datasets, window_slice
from labelstack.imaging.volume import main_stack_frames
from tests.unit.imaging.helpers import displayable_testdata, secondary_capture

COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR")


def eight_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """n-bit values over their full range to 8 bits: ``floor(v · 255 / (2^n − 1) + 1/2)``, in
    integers (no ties: 2^n − 1 is odd)."""
    if bits <= 8:
        return values.astype(np.uint8)
    top = (1 << bits) - 1
    return ((values.astype(np.uint64) * 510 + top) // (2 * top)).astype(np.uint8)


def palette(ds: pydicom.Dataset) -> pydicom.Dataset:
    """The palette as ``apply_color_lut`` must get it: pydicom 3.0 reads non-segmented 16-bit
    LUT data as little endian whatever the file's byte order, so a big-endian file's tables
    are handed over byte-swapped."""
    if ds.original_encoding[1] is not False or "RedPaletteColorLookupTableData" not in ds:
        return ds
    swapped = pydicom.Dataset()
    for colour in ("Red", "Green", "Blue"):
        descriptor = ds[f"{colour}PaletteColorLookupTableDescriptor"].value
        data = ds[f"{colour}PaletteColorLookupTableData"].value
        if len(data) == 2 * (descriptor[0] or 1 << 16):
            data = np.frombuffer(data, ">u2").astype("<u2").tobytes()
        setattr(swapped, f"{colour}PaletteColorLookupTableDescriptor", descriptor)
        setattr(swapped, f"{colour}PaletteColorLookupTableData", data)
    return swapped


def reference(ds: pydicom.Dataset, frame: int) -> np.ndarray:
    """The RGB uint8 (rows, cols, 3) that pydicom makes of ``frame``."""
    arr, decoded = get_decoder(ds.file_meta.TransferSyntaxUID).as_array(ds, index=frame, as_rgb=False)
    photometric = decoded["photometric_interpretation"]
    bits = int(ds.BitsStored)
    if photometric in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, photometric, "RGB")
    elif photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, palette(ds))
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    else:
        assert photometric == "RGB", f"no reference for {photometric} ({ds.PhotometricInterpretation})"
    return eight_bits(arr, bits)


FILES = displayable_testdata(grey=False)


@pytest.mark.filterwarnings("ignore")
def test_every_kind_of_colour_file_is_there() -> None:
    """pydicom-data missing (or renamed files) would otherwise shrink the list silently."""
    kinds = {str(pydicom.dcmread(p.values[0], stop_before_pixels=True).PhotometricInterpretation)
             for p in FILES}
    assert kinds == set(COLOUR), kinds


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("path", FILES)
def test_every_colour_reference_file_shows_as_pydicom_converts_it(path: str) -> None:
    ds = pydicom.dcmread(path)
    volume = volume_from_datasets([ds])
    assert volume.photometric == "RGB" and volume.pixels.dtype == np.uint8
    frames = main_stack_frames([ds])
    picked = sorted({0, len(frames) - 1})
    wanted = np.zeros(volume.shape, np.uint8)
    for z in picked:
        wanted[z] = reference(ds, frames[z][1])
    for z in picked:
        shown = window_slice(volume, "axial", z)  # BGR
        want = extract_slice(volume, "axial", z, data=wanted)[..., ::-1]  # as the view orients it
        diff = np.abs(shown.astype(int) - want.astype(int))
        assert diff.max() == 0, (f"frame {frames[z][1]}: {np.count_nonzero(diff.any(-1))} of "
                                 f"{diff.shape[0] * diff.shape[1]} pixels differ (max {diff.max()} levels)")


def _ybr_image(y: np.ndarray) -> pydicom.Dataset:
    """An uncompressed YBR_FULL secondary capture holding, for each luma in ``y``, all 65 536
    (Cb, Cr) pairs: one row per (Y, Cb), one column per Cr."""
    cb, cr = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    pixels = np.stack(np.broadcast_arrays(y[:, None, None], cb, cr), -1).astype(np.uint8)
    return secondary_capture(pixels.reshape(len(y) * 256, 256, 3), "YBR_FULL")


def t871(ybr: np.ndarray) -> np.ndarray:
    """ITU-T T.871 §7 YCbCr → RGB with Round(x) = floor(x + 1/2), clamped, in exact integers
    (G's coefficients 0.114 · 1.772 / 0.587 and 0.299 · 1.402 / 0.587 over 587 000)."""
    y, cb, cr = (ybr[..., k].astype(np.int64) for k in range(3))
    cb, cr = cb - 128, cr - 128
    rgb = ((1000 * y + 1402 * cr + 500) // 1000,
           (587000 * y - 202008 * cb - 419198 * cr + 293500) // 587000,
           (1000 * y + 1772 * cb + 500) // 1000)
    return np.clip(np.stack(rgb, -1), 0, 255).astype(np.uint8)


def test_every_ybr_full_triple_shows_as_the_standard_says() -> None:
    """All 2^24 8-bit (Y, Cb, Cr) triples. The standard, not pydicom, is the reference here:
    pydicom's float32 arithmetic rounds 28 of G's 512 exact halves down (Cb 78, Cr 178,
    Y 19 … 46); none of them occurs in the reference files."""
    wrong = 0
    for first in range(0, 256, 32):
        ds = _ybr_image(np.arange(first, first + 32))
        shown = window_slice(volume_from_datasets([ds]))[..., ::-1]
        stored = np.frombuffer(ds.PixelData, np.uint8).reshape(shown.shape)
        wrong += int(np.count_nonzero((shown != t871(stored)).any(-1)))
    assert wrong == 0, f"{wrong} of {1 << 24} (Y, Cb, Cr) triples show otherwise"
