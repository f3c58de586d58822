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
sign, the byte order) and the general path itself (the float32 rescale, the display
pipeline), so the pixels are those of the general path to the level.

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

from labelstack.imaging.decode import linear_rescale, stays_finite
from labelstack.imaging.display import (
    FrameSpec,
    Voi,
    choose_voi,
    display_frame,
    display_spec,
    frame_spec,
    voi_key,
)
from labelstack.imaging.frames import AXIAL, frame_infos
from labelstack.imaging.render import encode
from labelstack.imaging.window import PRESETS

NATIVE = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
PIXEL_VALUE = "pixel_value_in_file"  # set by a file store on a header it read: (offset, length,
# file size) of the pixel data's value in that file


class FrameHead(TypedDict):
    """What showing one frame from its bytes needs; JSON."""

    syntax: str  # of the stored bytes, native
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
    file_size: int | None  # of that file, as its header was read


def frame_head(ds: pydicom.Dataset, syntax: str = "") -> FrameHead | None:
    """The head of a single-frame grey image with native integer pixel data of 8 or 16 bits,
    read from its header (a file read up to its pixel data, or DICOMweb metadata; `syntax`
    is the stored transfer syntax where the header does not say it, as metadata does not);
    None for anything else, and for a header that does not say everything the display needs."""
    try:
        return _head(ds, syntax)
    except Exception:  # noqa: BLE001  (an unreadable header: the general path reports it)
        return None


def _head(ds: pydicom.Dataset, indexed: str) -> FrameHead | None:
    syntax = _syntax(ds) or (UID(indexed) if indexed else None)
    allocated, stored = int(ds.get("BitsAllocated") or 0), int(ds.get("BitsStored") or 0)
    photometric = str(ds.get("PhotometricInterpretation") or "")
    if (syntax not in NATIVE or allocated not in (8, 16) or not 1 <= stored <= allocated
            or (allocated == 8 and syntax == ExplicitVRBigEndian)  # OW byte pairs swapped
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
    offset, length, file_size = getattr(ds, PIXEL_VALUE, None) or (None, None, None)
    head = FrameHead(
        syntax=str(syntax), rows=info.rows, columns=info.cols, bits_allocated=allocated,
        bits_stored=stored, signed=signed, spec=spec,
        inverse=display_spec([spec], info.photometric, str(ds.get("PresentationLUTShape") or ""))["inverse"],
        window=None if window is None else list(window),
        orientation=list(info.orientation or AXIAL), offset=offset, file_size=file_size)
    if length is not None and length < frame_length(head):
        return None  # truncated: the general path says so
    return head


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
    if (UID(syntax) not in NATIVE or len(data) < frame_length(head)
            or (head["bits_allocated"] == 8 and syntax == ExplicitVRBigEndian)):
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
    lookup = _word_table(layout, spec, voi, head["inverse"] != invert)
    words = np.frombuffer(data, "<u2" if head["bits_allocated"] == 16 else np.uint8,
                          count=head["rows"] * head["columns"]).reshape(head["rows"], head["columns"])
    return encode(np.take(lookup, words, mode="wrap"), fmt, quality)


class _PixelsNeeded(Exception):
    """The window to show depends on the pixel values (``window.auto_window``)."""


Layout = tuple[str, int, int, bool]  # syntax, bits allocated, bits stored, signed


_TABLES: dict[tuple, np.ndarray] = {}
MAX_TABLES = 64


def _word_table(layout: Layout, spec: FrameSpec, voi: Voi, inverse: bool) -> np.ndarray:
    """The display value of every stored word of this layout, memoised: the words go through
    the general path itself (decode's rescale to float32, then `display_frame`), so each is
    shown as the volume shows it, to the level, by construction."""
    key = (layout, spec["slope"], spec["intercept"], spec["low"], voi_key(voi), inverse)
    table = _TABLES.get(key)
    if table is None:
        values = _word_values(*layout)
        side = 256 if layout[1] == 16 else 16
        modality = linear_rescale(values, spec["slope"], spec["intercept"]).reshape(side, side)
        table = display_frame(modality, spec, voi, inverse).ravel()
        table.flags.writeable = False
        if len(_TABLES) >= MAX_TABLES:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = table
    return table


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
    values.flags.writeable = False
    return values.ravel()


def _syntax(ds: pydicom.Dataset) -> UID | None:
    """The file meta's, else as DICOMweb metadata puts it, among the other elements."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    uid = uid or ds.get("TransferSyntaxUID")
    return UID(str(uid)) if uid else None


def _tables_complete(ds: pydicom.Dataset) -> bool:
    """Every VOI LUT item has its data: DICOMweb metadata may leave it out as bulk data."""
    return all(item.get("LUTData") not in (None, b"", []) for item in ds.get("VOILUTSequence") or [])
