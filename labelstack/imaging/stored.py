"""A frame shown straight from its stored bytes, before any volume of it exists.

A viewer opening a series waits for one slice. Decoding it the general way (pydicom reads
the instance, a one-slice volume is built and its display pipeline derived) costs several
times reading and decoding that instance alone. But the instance's header was read when the
series was indexed, and for the common case, grey integer pixels stored uncompressed, it says
all there is to know: how many bytes the frame has (and where they lie in the file), how a
stored word becomes a value, and the frame's display pipeline. `frame_head` writes that
down as plain JSON, kept beside the stack order; `render_stored` then shows the frame with
one table lookup per pixel. The table maps every stored word (2^8 or 2^16 of them) to its
display value, composed once of pydicom's own reading of that word (the bits stored, the
sign, the byte order), the modality rescale and the VOI, so the pixels are those of the
general path to the level.

Anything else (compressed, colour, float, multi-frame, a Modality LUT, a window only the
pixels can complete) has no head, or `render_stored` returns None: the caller then takes the
general path, which also reports whatever is wrong with the file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypedDict

import numpy as np
import pydicom
from pydicom.pixels import get_decoder
from pydicom.pixels.utils import get_nr_frames
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from labelstack.imaging.decode import stays_finite
from labelstack.imaging.display import (
    FrameSpec,
    VoiKey,
    choose_voi,
    display_spec,
    domain_table,
    frame_spec,
    voi_key,
)
from labelstack.imaging.frames import AXIAL, frame_infos
from labelstack.imaging.render import encode
from labelstack.imaging.window import PRESETS

NATIVE = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
_PIXEL_DATA = 0x7FE00010


class FrameHead(TypedDict):
    """What showing one frame from its bytes needs; JSON."""

    syntax: str  # of the stored bytes, native; "" when the header does not say (DICOMweb
    # metadata): the store then names the syntax of the frame it reads
    rows: int
    columns: int
    bits_allocated: int  # 8 or 16
    bits_stored: int
    signed: bool
    spec: FrameSpec
    inverse: bool  # MONOCHROME1 or Presentation LUT Shape INVERSE
    window: list[float] | None  # what a half-given window completes from, when no pixel is needed
    orientation: list[float]
    offset: int | None  # where the frame's bytes start in its Part 10 file (None: not read from one)


def frame_head(ds: pydicom.Dataset) -> FrameHead | None:
    """The head of a single-frame grey image with native integer pixel data of 8 or 16 bits,
    read from its header (a file read without its pixel data's value, or DICOMweb metadata);
    None for anything else, and for a header that does not say everything the display needs."""
    try:
        return _head(ds)
    except Exception:  # noqa: BLE001  (an unreadable header: the general path reports it)
        return None


def _head(ds: pydicom.Dataset) -> FrameHead | None:
    syntax = _syntax(ds)
    allocated, stored = int(ds.get("BitsAllocated") or 0), int(ds.get("BitsStored") or 0)
    photometric = str(ds.get("PhotometricInterpretation") or "")
    if ((syntax is not None and syntax not in NATIVE) or allocated not in (8, 16)
            or not 1 <= stored <= allocated
            or int(ds.get("SamplesPerPixel") or 1) != 1
            or photometric not in ("MONOCHROME1", "MONOCHROME2")
            or get_nr_frames(ds, warn=False) != 1
            or any(k in ds for k in ("PerFrameFunctionalGroupsSequence", "ModalityLUTSequence",
                                     "FloatPixelData", "DoubleFloatPixelData"))
            or not _tables_complete(ds)):
        return None
    spec = frame_spec(ds)
    signed = bool(int(ds.get("PixelRepresentation") or 0))
    low = -(1 << (stored - 1)) if signed else 0
    dtype = np.dtype(f"{'i' if signed else 'u'}{allocated // 8}")
    if spec["low"] != low or not stays_finite(dtype, spec["slope"], spec["intercept"]):
        return None
    info = frame_infos(ds, 0)[0]
    window = info.window
    if window is None and str(ds.get("Modality") or "") == "CT":
        window = PRESETS["CT"]["soft tissue"]
    shape = str(ds.get("PresentationLUTShape") or "")
    return FrameHead(
        syntax=str(syntax or ""), rows=info.rows, columns=info.cols, bits_allocated=allocated,
        bits_stored=stored, signed=signed, spec=spec,
        inverse=display_spec([spec], info.photometric, shape)["inverse"],
        window=None if window is None else list(window),
        orientation=list(info.orientation or AXIAL), offset=_offset(ds))


def frame_length(head: FrameHead) -> int:
    return head["rows"] * head["columns"] * head["bits_allocated"] // 8


def render_stored(data: bytes, head: FrameHead, *, syntax: str | None = None,
                  center: float | None = None, width: float | None = None, invert: bool = False,
                  table: int | None = None, fmt: str = "png", quality: int = 90) -> bytes | None:
    """The frame encoded as `render.render_slice` would encode it from the volume, from its
    stored bytes (`syntax`: theirs when not the header's); None when this needs more than the
    head (too few bytes, a syntax not native, a table the file lacks, a window to complete
    that only the pixels give)."""
    syntax = syntax or head["syntax"]
    if not syntax or UID(syntax) not in NATIVE or len(data) < frame_length(head):
        return None
    spec = head["spec"]
    if table is not None and not 0 <= table < len(spec["tables"]):
        return None
    known = head["window"]

    def default() -> tuple[float, float]:
        if known is None:
            raise _PixelsNeeded
        return known[0], known[1]

    try:
        voi = choose_voi(spec, center, width, table, default)
    except _PixelsNeeded:
        return None
    layout = (syntax, head["bits_allocated"], head["bits_stored"], head["signed"])
    assert spec["low"] is not None  # a head's frame has its domain
    lookup = _word_table(layout, spec["slope"], spec["intercept"], spec["low"], voi_key(voi),
                         head["inverse"] != invert)
    words = np.frombuffer(data, "<u2" if head["bits_allocated"] == 16 else np.uint8,
                          count=head["rows"] * head["columns"]).reshape(head["rows"], head["columns"])
    return encode(np.take(lookup, words, mode="wrap"), fmt, quality)


class _PixelsNeeded(Exception):
    """The window to show depends on the pixel values (``window.auto_window``)."""


Layout = tuple[str, int, int, bool]  # syntax, bits allocated, bits stored, signed


@lru_cache(maxsize=64)
def _word_table(layout: Layout, slope: float, intercept: float, low: int, voi: VoiKey,
                inverse: bool) -> np.ndarray:
    """The display value of every stored word of this layout."""
    return np.take(domain_table(slope, intercept, low, voi, inverse), _word_values(*layout) - low)


@lru_cache(maxsize=16)
def _word_values(syntax: str, allocated: int, stored: int, signed: bool) -> np.ndarray:
    """The value pydicom reads from each stored word (as a little-endian word index): it
    decodes a frame holding every word once."""
    words = np.arange(1 << allocated, dtype="<u2" if allocated == 16 else np.uint8)
    side = 256 if allocated == 16 else 16
    options: dict[str, Any] = {  # pydicom types each option as its whole options dict
        "rows": side, "columns": side, "samples_per_pixel": 1, "bits_allocated": allocated,
        "bits_stored": stored, "pixel_representation": int(signed), "number_of_frames": 1,
        "photometric_interpretation": "MONOCHROME2", "pixel_keyword": "PixelData"}
    values, _ = get_decoder(UID(syntax)).as_array(words.tobytes(), **options)
    return values.astype(np.int64).ravel()


def _syntax(ds: pydicom.Dataset) -> UID | None:
    """The file meta's, else as DICOMweb metadata puts it, among the other elements."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    uid = uid or ds.get("TransferSyntaxUID")
    return UID(str(uid)) if uid else None


def _tables_complete(ds: pydicom.Dataset) -> bool:
    """Every VOI LUT item has its data: DICOMweb metadata may leave it out as bulk data."""
    return all(item.get("LUTData") not in (None, b"", []) for item in ds.get("VOILUTSequence") or [])


def _offset(ds: pydicom.Dataset) -> int | None:
    """Where the pixel data's value starts in the file the header was read from, when it was
    read with its value deferred (or not yet converted)."""
    if _PIXEL_DATA not in ds:
        return None
    element = ds.get_item(_PIXEL_DATA)
    tell = getattr(element, "file_tell", None)  # a DataElement's; a RawDataElement's value_tell
    tell = getattr(element, "value_tell", None) if tell is None else tell
    undefined = getattr(element, "is_undefined_length", False)
    return int(tell) if tell is not None and not undefined else None
