"""Pixel decoding: any transfer syntax pydicom + plugins can read → display-ready arrays.

Monochrome frames come back as float32 *modality* values (rescale or modality LUT applied,
per frame for enhanced multi-frame). MONOCHROME1 values are NOT inverted here: window
centre/width from the tags refer to the stored values, so the inversion belongs to display
time (``window.apply_window`` via ``Volume.photometric == "MONOCHROME1"``). Colour frames
(RGB, YBR_*, PALETTE COLOR) come back as uint8 RGB.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.encaps import parse_basic_offsets, parse_fragments
from pydicom.pixels import apply_color_lut, apply_modality_lut, convert_color_space, get_decoder
from pydicom.pixels.utils import get_expected_length, get_nr_frames
from pydicom.uid import UID, ExplicitVRBigEndian

from labelstack.imaging.errors import ImagingError

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def decode_frames(ds: pydicom.Dataset) -> np.ndarray:
    """Return ``(frames, rows, cols)`` float32 modality values or ``(frames, rows, cols, 3)`` uint8."""
    syntax = _check_header(ds)
    if syntax.is_compressed:
        _check_encapsulated_frames(ds)
    else:
        _check_length(ds)
    with _decoding(ds):
        return _decode(ds, syntax)


def check_decodable(ds: pydicom.Dataset) -> None:
    """Raise ImagingError unless every frame decodes to what the viewer shows; the import's
    check, so that what it accepts can be displayed.

    Native pixel data is checked by length, and its first and last frames go through the
    viewer's conversion (colour space, palette, rescale); compressed data is checked by
    counting its frames in the encapsulation (item headers only), then each frame is decoded
    and converted, one at a time (memory: one frame).
    """
    syntax = _check_header(ds)
    with _decoding(ds):
        if not syntax.is_compressed:
            _check_length(ds)
            for index in sorted({0, get_nr_frames(ds, warn=False) - 1}):
                _decode(ds, syntax, index=index)
            return
        frames = _check_encapsulated_frames(ds)
        decoded = get_decoder(syntax).iter_array(ds, as_rgb=False)
        for index, (arr, properties) in enumerate(decoded):
            _convert(ds, arr, properties, first=index, frames=1)
            if index + 1 == frames:
                break


def decoder_failure(exc: BaseException) -> bool:
    """Whether `exc` is a decoder's way of saying the data is bad: any Exception, and the
    ``PanicException`` of the Rust plugins (pylibjpeg-rle panics on some corrupt RLE data),
    which derives from BaseException; never KeyboardInterrupt, SystemExit or GeneratorExit."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


@contextmanager
def _decoding(ds: pydicom.Dataset) -> Iterator[None]:
    """Whatever pydicom and its plugins raise for bad data becomes one ImagingError."""
    try:
        yield
    except ImagingError:
        raise
    except BaseException as exc:
        if not decoder_failure(exc):
            raise
        raise ImagingError(f"cannot decode pixel data ({_syntax_name(ds)}): {exc}") from exc


def _decode(ds: pydicom.Dataset, syntax: UID, index: int | None = None) -> np.ndarray:
    """All frames, or the one at `index`, as the viewer shows them."""
    arr, properties = get_decoder(syntax).as_array(ds, index=index, as_rgb=False)  # type: ignore[arg-type]  # as above
    frames = get_nr_frames(ds, warn=False) if index is None else 1
    return _convert(ds, arr, properties, first=index or 0, frames=frames)


def _convert(ds: pydicom.Dataset, arr: np.ndarray, properties: dict[str, Any], *, first: int,
             frames: int) -> np.ndarray:
    """Decoded stored values of `frames` frames from frame `first` on → display values."""
    if properties.get("photometric_interpretation") in ("YBR_FULL", "YBR_FULL_422"):
        arr = _ybr_full_to_rgb(arr)
    samples = int(ds.get("SamplesPerPixel", 1))
    arr = arr.reshape((frames, int(ds.Rows), int(ds.Columns)) + ((3,) if samples == 3 else ()))
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        return _palette_to_rgb(arr, _little_endian_palette(ds))
    if samples == 3:
        return _to_uint8(arr, int(ds.get("BitsStored", 8)))
    return _rescale(arr, ds, first)


def _check_header(ds: pydicom.Dataset) -> UID:
    """Reject what no decoder can handle, naming the missing attribute or syntax."""
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        raise ImagingError("no pixel data (7FE0,0010) in this DICOM object")
    for keyword in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation"):
        if readable(ds, keyword) in (None, ""):
            raise ImagingError(f"missing {keyword} needed to decode the pixel data")
    for keyword in ("SamplesPerPixel", "BitsStored", "PixelRepresentation", "PlanarConfiguration",
                    "RescaleSlope", "RescaleIntercept"):
        readable(ds, keyword)
    frames = readable(ds, "NumberOfFrames")
    if frames not in (None, "") and not int(frames) >= 1:  # pydicom would read 0 as 1 frame, then not
        raise ImagingError(f"NumberOfFrames is {frames}: an image has at least one frame")
    syntax = _syntax(ds)
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise ImagingError(f"unsupported transfer syntax {syntax} ({syntax.name})") from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "no plugin installed"
        raise ImagingError(f"no decoder installed for transfer syntax {syntax} ({syntax.name}): {missing}")
    return syntax


def _check_length(ds: pydicom.Dataset) -> None:
    """Native pixel data shorter than Rows x Columns x frames means a truncated file."""
    keyword = next(k for k in _PIXEL_KEYWORDS if k in ds)
    expected = get_expected_length(ds, "bytes")
    actual = len(ds[keyword].value)
    if actual < expected:
        raise ImagingError(
            f"truncated pixel data: {actual} bytes, expected {expected} "
            f"for {get_nr_frames(ds, warn=False)} frame(s) of {ds.Rows}x{ds.Columns}"
        )


def _check_encapsulated_frames(ds: pydicom.Dataset) -> int:
    """NumberOfFrames, once the encapsulated data is seen to hold that many frames: a frame
    starts where an offset table says, else at a fragment opening with a JPEG / JPEG-LS SOI
    or JPEG 2000 SOC marker, else (RLE: one fragment per frame) at every fragment."""
    frames = get_nr_frames(ds, warn=False)
    if frames <= 1:
        return 1
    buffer = ds.PixelData
    try:
        _, items = parse_fragments(buffer)  # the first item is the Basic Offset Table
        table = parse_basic_offsets(buffer)
    except Exception as exc:  # noqa: BLE001  (pydicom raises ValueError and struct errors)
        raise ImagingError(f"broken encapsulated pixel data ({_syntax_name(ds)}): {exc}") from exc
    fragments = items[1:]
    if "ExtendedOffsetTable" in ds:
        table = np.frombuffer(ds.ExtendedOffsetTable, "<u8").tolist()
    if table:
        starts = {p - fragments[0] for p in fragments} if fragments else set()
        found = sum(1 for offset in table if offset in starts)
    else:
        marked = sum(1 for p in fragments if buffer[p + 8 : p + 10] in _FRAME_STARTS)
        found = marked or len(fragments)
    if found < frames:
        raise ImagingError(f"truncated pixel data: {found} of {frames} frames (NumberOfFrames) "
                           f"in the encapsulated {_syntax_name(ds)} data")
    return frames


_FRAME_STARTS = (b"\xff\xd8", b"\xff\x4f")  # JPEG / JPEG-LS SOI, JPEG 2000 SOC


def _syntax(ds: pydicom.Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid is None:
        raise ImagingError("missing transfer syntax (0002,0010) in the file meta information")
    return UID(str(uid))


def _syntax_name(ds: pydicom.Dataset) -> str:
    try:
        syntax = _syntax(ds)
    except ImagingError:
        return "unknown transfer syntax"
    return f"{syntax.name} {syntax}"


def readable(ds: pydicom.Dataset, keyword: str) -> Any:
    """``ds.get(keyword)``, or ImagingError naming the element when its value cannot be read
    (a wrong or unknown VR, a value its VR cannot hold)."""
    try:
        return ds.get(keyword)
    except Exception as exc:  # noqa: BLE001  (pydicom raises many types for one broken value)
        tag = tag_for_keyword(keyword)
        where = f" ({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else ""
        raise ImagingError(f"cannot read {keyword}{where}: {type(exc).__name__}: {exc}") from None


def _little_endian_palette(ds: pydicom.Dataset) -> pydicom.Dataset:
    """pydicom 3.0 reads non-segmented 16-bit palette data as little endian whatever the syntax;
    hand it byte-swapped copies for big-endian files."""
    if _syntax(ds) != ExplicitVRBigEndian or "RedPaletteColorLookupTableData" not in ds:
        return ds
    swapped = pydicom.Dataset()
    for colour in ("Red", "Green", "Blue"):
        descriptor = ds[f"{colour}PaletteColorLookupTableDescriptor"].value
        data = ds[f"{colour}PaletteColorLookupTableData"].value
        if len(data) == 2 * (descriptor[0] or 65536):
            data = np.frombuffer(data, ">u2").astype("<u2").tobytes()
        setattr(swapped, f"{colour}PaletteColorLookupTableDescriptor", descriptor)
        setattr(swapped, f"{colour}PaletteColorLookupTableData", data)
    return swapped


def _palette_to_rgb(arr: np.ndarray, palette: pydicom.Dataset) -> np.ndarray:
    """Stored values → 8-bit RGB. pydicom's ``apply_color_lut`` colours every value the stored
    type can hold (at most 65 536) rather than every pixel, and the pixels index that table:
    4x faster on a cine. Entries go to 8 bits by the bit count of the descriptor, not of the
    words they come in: some writers put 8-bit entries in 16-bit words (PS3.3 C.7.6.3.1.5 notes it).
    An alpha table is left out: the image is shown opaque, as RGB."""
    wide = arr.dtype.itemsize > 2  # no table of 2^32 values: colour each pixel
    values = arr if wide else np.arange(1 << 8 * arr.dtype.itemsize).astype(arr.dtype)  # row i: i as stored
    colours = apply_color_lut(values, palette)  # first: its error names a missing palette
    colours = _to_uint8(colours[..., :3], int(palette.RedPaletteColorLookupTableDescriptor[2]))
    return colours if wide else np.take(colours, arr, axis=0, mode="wrap")  # negative v: row v + 2^n


# PS3.3 C.7.6.3.1.2 YBR_FULL → RGB is the JFIF inverse of ITU-T T.871 §7, Round(x) = floor(x + 1/2),
# clamped to 0 … 255. G = Round(Y − (0.114 · 1.772 · (Cb − 128) + 0.299 · 1.402 · (Cr − 128)) / 0.587),
# and Y is an integer, so G = Y + Round(t(Cb, Cr)): Round(t) for every (Cb, Cr), in exact integers
# (over 587 000), at index Cb | Cr << 8.
_CHROMA = np.arange(256, dtype=np.int64) - 128
_GREEN_OFFSET = ((-202008 * _CHROMA[None, :] - 419198 * _CHROMA[:, None] + 293500) // 587000
                 ).astype(np.int16).ravel()
_BLOCK_PIXELS = 1 << 18


def _ybr_full_to_rgb(arr: np.ndarray) -> np.ndarray:
    """YBR_FULL / YBR_FULL_422 (decoded to full resolution) → RGB exactly as the standard says for
    8-bit data (every one of the 2^24 inputs is tested), wider data by pydicom. Blocks of 2^18
    pixels keep the temporaries in cache: 3x faster on a cine than whole-array passes."""
    if arr.dtype != np.uint8:
        return convert_color_space(arr, "YBR_FULL", "RGB")
    rows = np.ascontiguousarray(arr).reshape(-1, arr.shape[-2], 3)
    out = np.empty_like(rows)
    step = max(1, _BLOCK_PIXELS // rows.shape[1])
    for start in range(0, rows.shape[0], step):
        block = rows[start : start + step]
        y, cb, cr = cv2.split(block)
        red, blue = _plus_chroma(y, cr, 1.402), _plus_chroma(y, cb, 1.772)
        cv2.merge([red, _green(block, y), blue], out[start : start + step])
    return out.reshape(arr.shape)


def _plus_chroma(y: np.ndarray, chroma: np.ndarray, coefficient: float) -> np.ndarray:
    """R or B: Round(Y + coefficient · (chroma − 128)), clamped, in one OpenCV pass. The exact
    values are multiples of 1/1000 and addWeighted's float32 arithmetic errs by less than 1/5000,
    so adding 1/2000 makes its round-to-nearest take halves up, as Round does, and moves no
    other value across a rounding boundary."""
    return cv2.addWeighted(y, 1.0, chroma, coefficient, 1 / 2000 - 128 * coefficient)


def _green(ybr: np.ndarray, y: np.ndarray) -> np.ndarray:
    """G: Y + the exact table's offset, clamped. Float32 cannot do G: its coefficients need a
    precision of 1/587 000. Cb and Cr are adjacent bytes of each pixel, so read in place as a
    little-endian uint16 they are the table index; every uint16 is a valid one (``wrap`` skips
    the bounds check)."""
    pairs = np.ndarray((y.size,), "<u2", buffer=ybr, offset=1, strides=(3,))
    offset = np.take(_GREEN_OFFSET, pairs, mode="wrap").reshape(y.shape)
    return np.clip(cv2.add(y.astype(np.int16), offset), 0, 255).astype(np.uint8)


def _to_uint8(arr: np.ndarray, bits: int) -> np.ndarray:
    """n-bit colour values over their full range to 8 bits, ``floor(v · 255 / (2^n − 1) + 1/2)``
    in integers (no ties: 2^n − 1 is odd): the inverse of storing 8-bit v as v · 257, the grey
    pipeline's rule too. The browser shows no more than 8 bits, and they keep volumes small."""
    if bits <= 8:
        return arr.astype(np.uint8, copy=False)
    top = (1 << bits) - 1
    return ((arr.astype(np.uint64) * 510 + top) // (2 * top)).astype(np.uint8)


def _rescale(arr: np.ndarray, ds: pydicom.Dataset, first: int = 0) -> np.ndarray:
    """Stored values → modality values, per frame where functional groups say so; `arr`
    holds the frames from `first` on. Values that are not finite numbers are refused."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None:
        shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
        out = np.empty(arr.shape, np.float32)
        for k, frame in enumerate(arr, start=first):
            slope, intercept = _frame_rescale(per_frame[k] if k < len(per_frame) else None, shared)
            np.multiply(frame, np.float32(slope), out=out[k - first], casting="unsafe")
            out[k - first] += np.float32(intercept)
        return _finite(out)
    if ds.get("ModalityLUTSequence"):
        return _finite(apply_modality_lut(arr, ds).astype(np.float32))
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    out = linear_rescale(arr, slope, intercept)
    return out if stays_finite(arr.dtype, slope, intercept) else _finite(out)


def linear_rescale(arr: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """``slope · v + intercept`` in float32, as every volume holds its values (not checked
    for finiteness: `stays_finite` says when no check is needed)."""
    out = arr.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        if slope != 1:
            out *= np.float32(slope)
        if intercept:
            out += np.float32(intercept)
    return out


FLOAT32_SAFE = 1e38  # below float32's largest, 3.4e38


def stays_finite(dtype: np.dtype, slope: float, intercept: float) -> bool:
    """Whether every value of an integer `dtype` rescales to a finite float32: then no pass
    over the pixels is needed to know (a 300-slice CT: ~20 ms)."""
    if not np.issubdtype(dtype, np.integer) or not (math.isfinite(slope) and math.isfinite(intercept)):
        return False
    info = np.iinfo(dtype)
    return max(-int(info.min), int(info.max)) * abs(slope) + abs(intercept) < FLOAT32_SAFE


def _finite(out: np.ndarray) -> np.ndarray:
    if not np.isfinite(out).all():
        raise ImagingError("pixel values are not finite numbers after the modality rescale "
                           "(RescaleSlope, RescaleIntercept or the modality LUT)")
    return out


def _frame_rescale(frame: pydicom.Dataset | None, shared: pydicom.Dataset | None) -> tuple[float, float]:
    for group in (frame, shared):
        seq = group.get("PixelValueTransformationSequence") if group is not None else None
        if seq:
            item = seq[0]
            return float(item.get("RescaleSlope", 1) or 1), float(item.get("RescaleIntercept", 0) or 0)
    return 1.0, 0.0
