"""A seeded corpus of broken uploads made from pydicom's test files: truncations, byte flips in
the header and in the pixel data, wrong VRs and lengths, a wrong transfer syntax in the file
meta, missing required tags, corrupt and nested zips, and files that are not DICOM at all.

Every variant gets UIDs of its own before it is damaged, so what survives forms a series of
its own (and a refusal never hides behind "already present").
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pydicom
from pydicom.data import get_testdata_file
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
)

from labelstack.imaging.phantom import ct_datasets

SEED = 20261201
UID_ROOT = "1.2.826.0.1.3680043.8.498.77"
# Small files, one of each kind the viewer decodes: native CT, RLE, JPEG 2000, JPEG, RGB,
# multi-frame, implicit VR and big endian.
BASES = ("CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "JPEG-lossy.dcm", "SC_rgb.dcm",
         "emri_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm")
WRONG_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian,
                  DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless, JPEG2000Lossless,
                  UID("1.2.3.4.5.6"))
REQUIRED = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "SOPClassUID", "Rows",
            "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel",
            "PhotometricInterpretation", "PixelData", "Modality", "PixelSpacing",
            "ImagePositionPatient")
WRONG_VRS = (b"XX", b"SQ", b"UI", b"US", b"FD", b"OB", b"UN", b"AT", b"\0\0")
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True, slots=True)
class Upload:
    name: str  # what was done, e.g. "CT_small.dcm:truncate@300"
    filename: str  # the name it is uploaded as
    data: bytes


@dataclass(frozen=True, slots=True)
class Element:
    """One top-level element as found in the bytes (VR None: implicit VR)."""

    tag: int
    offset: int
    vr: bytes | None
    length_at: int
    length_size: int
    length: int


class _Uids:
    def __init__(self) -> None:
        self.n = 0

    def fresh(self, ds: pydicom.Dataset) -> pydicom.Dataset:
        self.n += 1
        ds.StudyInstanceUID = f"{UID_ROOT}.{self.n}.1"
        ds.SeriesInstanceUID = f"{UID_ROOT}.{self.n}.2"
        ds.SOPInstanceUID = f"{UID_ROOT}.{self.n}.3"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        return ds


def corpus() -> list[Upload]:
    """Every upload the mutation test tries, in a fixed order (the same bytes on every run)."""
    rng = random.Random(SEED)
    uids = _Uids()
    uploads: list[Upload] = []
    for base in BASES:
        original = pydicom.dcmread(get_testdata_file(base))

        def fresh_raw(original: pydicom.Dataset = original) -> bytes:
            return _raw(uids.fresh(_copy(original)))

        uploads += [Upload(f"{base}:{name}", base, data)
                    for name, data in _mutations(fresh_raw, original, rng)]
    uploads += [Upload(name, filename, data) for name, filename, data in _archives(uids, rng)]
    uploads += [Upload(name, filename, data) for name, filename, data in _not_dicom(rng)]
    return uploads


def _mutations(fresh_raw: Callable[[], bytes], original: pydicom.Dataset,
               rng: random.Random) -> Iterator[tuple[str, bytes]]:
    raw = fresh_raw()
    yield "intact", raw
    for at in sorted({1, 128, 132, 300, len(raw) // 2, len(raw) - 100, len(raw) - 1}):
        yield f"truncate@{at}", fresh_raw()[:at]
    explicit, little = _encoding(original)
    body = _body_start(raw)
    found = _elements(raw, body, explicit=explicit) if little else []
    pixels = next((e.offset for e in found if e.tag == PIXEL_DATA), len(raw) - len(raw) // 4)
    for count in (1, 4, 16):
        yield f"header-flips×{count}", _flip(fresh_raw(), rng, body, pixels, count)
    for count in (1, 16, 256):
        yield f"pixel-flips×{count}", _flip(fresh_raw(), rng, pixels, len(raw), count)
    headers = [e for e in found if e.tag != PIXEL_DATA]
    if explicit and headers:
        for element in rng.sample(headers, min(6, len(headers))):
            vr = rng.choice(WRONG_VRS)
            yield f"vr({element.tag:08X})={vr!r}", _with_vr(fresh_raw(), element, vr)
    for element in rng.sample(headers, min(5, len(headers))):
        length = rng.choice([element.length + 1, element.length + 2, 0, 0xFFFFFFFF, 2 * len(raw)])
        yield f"length({element.tag:08X})={length}", _with_length(fresh_raw(), element, length)
    syntax = original.file_meta.TransferSyntaxUID
    for wrong in WRONG_SYNTAXES:
        if wrong != syntax:
            yield f"syntax={wrong.name or wrong}", _with_syntax(fresh_raw(), wrong)
    for keyword in REQUIRED:
        if keyword in original:
            yield f"without {keyword}", _without(fresh_raw(), keyword)
    yield "without file meta", _without_meta(fresh_raw())


def _archives(uids: _Uids, rng: random.Random) -> Iterator[tuple[str, str, bytes]]:
    series = [_raw(ds) for ds in ct_datasets(shape=(5, 16, 16), series_uid=f"{UID_ROOT}.0.2",
                                              seed=None)]
    good = _zip({f"ct/{k}.dcm": data for k, data in enumerate(series)})
    yield "zip: a CT series", "series.zip", good
    yield "zip: stored, no compression", "stored.zip", _zip({"a.dcm": _fresh_ct(uids)},
                                                           method=zipfile.ZIP_STORED)
    yield "zip: nested (zip in a zip)", "nested.zip", _zip({"inner.zip": _zip(
        {"ct/0.dcm": _fresh_ct(uids)}), "outer.dcm": _fresh_ct(uids)})
    yield "zip: nested twice", "nested2.zip", _zip({"a.zip": _zip({"b.zip": _zip(
        {"c.dcm": _fresh_ct(uids)})})})
    for at in (10, len(good) // 2, len(good) - 30, len(good) - 1):
        yield f"zip: truncate@{at}", "cut.zip", _zip_of_fresh(uids, 3)[:at]
    for count in (1, 8, 64):
        data = _zip_of_fresh(uids, 3)
        yield f"zip: byte-flips×{count}", "flipped.zip", _flip(data, rng, 30, len(data), count)
    data = bytearray(_zip_of_fresh(uids, 3))
    directory = data.rfind(b"PK\x01\x02")
    data[directory + 16:directory + 20] = b"\0\0\0\0"  # the last member's CRC
    yield "zip: bad CRC", "crc.zip", bytes(data)
    yield "zip: empty archive", "empty.zip", _zip({})
    yield "zip: empty and text members", "misc.zip", _zip({"empty.dcm": b"", "notes.txt": b"hi",
                                                           "a.dcm": _fresh_ct(uids)})
    yield "zip: duplicate member names", "dup.zip", _zip_duplicates(uids)
    yield "zip: member named ../../escape.dcm", "escape.zip", _zip({"../../escape.dcm": _fresh_ct(uids)})
    yield "zip: named .zip, not a zip", "fake.zip", b"PK this is not a zip archive" * 10
    yield "zip: a zip not named .zip", "series.dcm", _zip_of_fresh(uids, 2)


def _not_dicom(rng: random.Random) -> Iterator[tuple[str, str, bytes]]:
    yield "empty file", "empty.dcm", b""
    yield "text", "notes.dcm", b"not an image\n" * 20
    yield "PNG", "image.png", b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(500))
    yield "random bytes", "random.dcm", bytes(rng.getrandbits(8) for _ in range(4096))
    yield "preamble only", "preamble.dcm", bytes(128) + b"DICM"
    yield "DICM then garbage", "garbage.dcm", bytes(128) + b"DICM" + bytes(
        rng.getrandbits(8) for _ in range(2048))
    yield "JSON", "data.json", b'{"PatientName": "x", "Rows": 512}'


def _encoding(ds: pydicom.Dataset) -> tuple[bool, bool]:
    syntax = ds.file_meta.TransferSyntaxUID
    return not syntax.is_implicit_VR, syntax.is_little_endian


def _copy(ds: pydicom.Dataset) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(_raw(ds)))


def _raw(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _fresh_ct(uids: _Uids) -> bytes:
    return _raw(uids.fresh(ct_datasets(shape=(1, 16, 16), seed=None)[0]))


def _body_start(raw: bytes) -> int:
    """Where the dataset starts after the file meta (its group length is the first element)."""
    return 144 + struct.unpack_from("<I", raw, 140)[0]


def _elements(raw: bytes, start: int, *, explicit: bool) -> list[Element]:
    """The top-level elements up to the first of undefined length (which is included)."""
    found, at = [], start
    while at + 8 <= len(raw):
        group, number = struct.unpack_from("<HH", raw, at)
        vr = raw[at + 4:at + 6] if explicit else None
        if vr is None or vr in LONG_VRS:
            length_at, size = (at + 8, 4) if vr else (at + 4, 4)
        else:
            length_at, size = at + 6, 2
        length = int.from_bytes(raw[length_at:length_at + size], "little")
        found.append(Element((group << 16) | number, at, vr, length_at, size, length))
        if length == 0xFFFFFFFF:
            break
        at = length_at + size + length
    return found


def _flip(raw: bytes, rng: random.Random, start: int, end: int, count: int) -> bytes:
    data = bytearray(raw)
    for _ in range(count):
        at = rng.randrange(start, max(start + 1, end))
        data[at] ^= 1 << rng.randrange(8) if count > 1 else 0xFF
    return bytes(data)


def _with_vr(raw: bytes, element: Element, vr: bytes) -> bytes:
    """The element's VR replaced, its length field and value kept as they are."""
    return raw[:element.offset + 4] + vr + raw[element.offset + 6:]


def _with_length(raw: bytes, element: Element, length: int) -> bytes:
    length = min(length, (1 << (8 * element.length_size)) - 1)
    field = length.to_bytes(element.length_size, "little")
    return raw[:element.length_at] + field + raw[element.length_at + element.length_size:]


def _with_syntax(raw: bytes, syntax: UID) -> bytes:
    """The file meta claiming `syntax`; the dataset bytes stay as they were encoded."""
    ds = pydicom.dcmread(io.BytesIO(raw), stop_before_pixels=True)
    meta = ds.file_meta
    meta.TransferSyntaxUID = syntax
    buffer = DicomBytesIO()
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return bytes(128) + b"DICM" + buffer.getvalue() + raw[_body_start(raw):]


def _without(raw: bytes, keyword: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(raw))
    delattr(ds, keyword)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    return buffer.getvalue()


def _without_meta(raw: bytes) -> bytes:
    """The bare dataset: no preamble, no 'DICM', no file meta."""
    return raw[_body_start(raw):]


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _zip_of_fresh(uids: _Uids, count: int) -> bytes:
    return _zip({f"{k}.dcm": _fresh_ct(uids) for k in range(count)})


def _zip_duplicates(uids: _Uids) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": that is the point
        z.writestr("same.dcm", _fresh_ct(uids))
        z.writestr("same.dcm", _fresh_ct(uids))
    return buffer.getvalue()
