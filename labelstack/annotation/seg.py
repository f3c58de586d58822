"""DICOM Segmentation (SEG) from masks and back, with highdicom.

A mask is ``(z, y, x)`` over the main stack of its series, in the order
``imaging.volume.volume_from_datasets`` sorts it (along the slice normal);
``main_stack_frames`` names the source instance, and the frame in it, of each ``z``.

Writing: one segment per label, BINARY, MANUAL; segments may overlap (each has its own
frames); frames without any voxel of a segment are left out. Each frame references its
source instance (and source frame for a multi-frame source) and carries the source's
geometry, as highdicom derives it; a radiograph without a frame of reference gets a
single frame aligned with the image.

Reading: every frame is mapped to a slice of the main stack by the source instance (and
frame) it references or, for SEGs that reference none, by its plane position. A SEG on
another frame of reference, another pixel grid, or on instances that are not in the main
stack is refused with ``SegMismatch``; one that cannot be parsed with ``SegCorrupt``.

Pure: numpy, pydicom, highdicom; the services fetch the datasets and store the result.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import get_nr_frames
from pydicom.sr.codedict import codes
from pydicom.uid import SegmentationStorage

from labelstack.imaging.errors import ImagingError
from labelstack.imaging.frames import frame_infos, slice_normal
from labelstack.imaging.volume import main_stack_frames

__all__ = ["DecodedSegment", "SegCorrupt", "SegError", "SegHeader", "SegMismatch", "SegUnsupported",
           "Segment", "build_seg", "color_to_lab", "encode_seg", "lab_to_color", "parse_seg",
           "read_segments", "referenced_series_uids"]

MANUFACTURER = "LabelStack"
# What a segment is when nothing more is known: the generic category and type that OHIF
# and 3D Slicer also use for a segment drawn without choosing a terminology.
CATEGORY = codes.SCT.Tissue
PROPERTY_TYPE = codes.SCT.Tissue
# Attributes highdicom copies from the source; DICOM lets them be empty (type 2), and our
# sources (phantoms, anonymised data) may lack them.
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
          "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName")
POSITION_TOLERANCE_MM = 0.05  # plane positions of a SEG made elsewhere vs the image's slices
ORIENTATION_TOLERANCE = 1e-3
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class SegError(ValueError):
    """A SEG cannot be written or read; the message says why, for the user."""


class SegCorrupt(SegError):
    """Not a readable DICOM SEG."""


class SegMismatch(SegError):
    """A SEG that does not belong to the image it is read against."""


class SegUnsupported(SegError):
    """A valid case this module does not handle (said plainly instead of writing nonsense)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Segment:
    """One label's mask for the SEG: ``(z, y, x)`` bool over the main stack."""

    label: str
    mask: np.ndarray
    color: str = "#ff0000"  # #rrggbb, written as the recommended CIELab display colour
    description: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class SegHeader:
    """What describes the SEG as a whole (UIDs from the caller: it decides what is the same SEG)."""

    series_uid: str
    sop_uid: str
    series_description: str = ""
    series_number: int = 900
    content_creator: str = ""  # the author, as a person name
    content_description: str = ""
    content_label: str = "LABELSTACK"
    software_version: str = "0"


@dataclass(frozen=True, kw_only=True, slots=True)
class DecodedSegment:
    number: int
    label: str
    description: str
    color: str | None  # #rrggbb from the recommended display colour, if the SEG has one
    mask: np.ndarray  # (z, y, x) bool over the main stack


def build_seg(sources: Sequence[pydicom.Dataset], segments: Sequence[Segment],
              header: SegHeader) -> hd.seg.Segmentation:
    """The SEG of ``segments`` over the series ``sources`` (every instance, in any order;
    headers without pixel data suffice)."""
    if not segments:
        raise SegError("nothing to export: no segments")
    frames = _main_stack(sources)
    first = sources[frames[0][0]]
    shape = (len(frames), int(first.Rows), int(first.Columns))
    for segment in segments:
        if segment.mask.shape != shape or segment.mask.dtype != np.bool_:
            raise SegError(f"mask of {segment.label!r} is {segment.mask.dtype} {segment.mask.shape}; "
                           f"the image needs bool {shape}")
    used = list(dict.fromkeys(source for source, _ in frames))
    multi = [i for i in used if get_nr_frames(sources[i], warn=False) > 1]
    stack = np.stack([s.mask for s in segments], axis=-1)  # (z, y, x, segments)
    geometric = frame_infos(first, 0)[frames[0][1]].position is not None
    if multi:
        if len(used) > 1:
            raise SegUnsupported("the image is made of several multi-frame instances; a SEG "
                                 "here covers one multi-frame source only")
        source = sources[used[0]]
        if not geometric:
            raise SegUnsupported("a SEG of a multi-frame image without patient geometry (a cine "
                                 "or frame stack) is not supported; export PNG masks instead")
        pixels = np.zeros((get_nr_frames(source, warn=False), *shape[1:], len(segments)), bool)
        for z, (_, frame) in enumerate(frames):
            pixels[frame] = stack[z]
        source_images = [_prepared(source)]
    else:
        pixels = stack
        source_images = [_prepared(sources[i]) for i, _ in frames]
    descriptions = [_description(number, segment) for number, segment in enumerate(segments, 1)]
    try:
        with warnings.catch_warnings():
            # a display name is one free-text component; highdicom would ask for Family^Given
            warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person")
            seg = _segmentation(source_images, pixels, descriptions, header)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SegUnsupported(f"highdicom cannot make a SEG of this image: {exc}") from None
    seg.SeriesDescription = _lo(header.series_description) or "LabelStack segmentation"
    if "FrameOfReferenceUID" not in seg and "PatientOrientation" not in seg:
        # General Image: type 2C when the image has no patient geometry (a radiograph).
        seg.PatientOrientation = first.get("PatientOrientation") or ""
    if not _ascii(seg):
        seg.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: labels and names in any script
    return seg


def _segmentation(source_images: list[pydicom.Dataset], pixels: np.ndarray,
                  descriptions: list[hd.seg.SegmentDescription],
                  header: SegHeader) -> hd.seg.Segmentation:
    return hd.seg.Segmentation(
        source_images=source_images, pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=header.series_uid,
        series_number=header.series_number, sop_instance_uid=header.sop_uid, instance_number=1,
        manufacturer=MANUFACTURER, manufacturer_model_name=MANUFACTURER,
        software_versions=_lo(header.software_version) or "0", device_serial_number="0",
        content_description=_lo(header.content_description) or None,
        content_creator_name=_person(header.content_creator),
        content_label=_content_label(header.content_label), omit_empty_frames=True)


def encode_seg(seg: pydicom.Dataset) -> bytes:
    """The SEG as a DICOM Part 10 file."""
    buffer = io.BytesIO()
    seg.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def parse_seg(data: bytes | pydicom.Dataset) -> hd.seg.Segmentation:
    """A SEG from file bytes (or a dataset a store returned), or ``SegCorrupt`` saying why not."""
    ds: pydicom.Dataset
    if isinstance(data, bytes | bytearray):
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except InvalidDicomError:
            raise SegCorrupt("not a DICOM file (no 'DICM' marker after the 128-byte "
                             "preamble)") from None
        except Exception as exc:  # noqa: BLE001  (pydicom raises many types for broken files)
            raise SegCorrupt(f"corrupt DICOM file: {type(exc).__name__}: {exc}") from None
    else:
        ds = data
    what = ds.get("SOPClassUID")
    if not what:
        raise SegCorrupt("not a DICOM SEG: the file has no SOP Class UID (truncated or corrupt?)")
    if str(what) != SegmentationStorage:
        raise SegCorrupt(f"not a DICOM SEG: this file is {getattr(what, 'name', None) or what}")
    try:
        seg = hd.seg.Segmentation.from_dataset(ds, copy=False)
    except Exception as exc:  # noqa: BLE001  (highdicom checks many attributes, each its own way)
        raise SegCorrupt(f"corrupt DICOM SEG: {type(exc).__name__}: {exc}") from None
    return seg


def referenced_series_uids(seg: pydicom.Dataset) -> list[str]:
    """The series the SEG says it was made on (Referenced Series Sequence), in order."""
    return [str(item.SeriesInstanceUID) for item in seg.get("ReferencedSeriesSequence") or []
            if item.get("SeriesInstanceUID")]


def read_segments(seg: hd.seg.Segmentation, sources: Sequence[pydicom.Dataset]) -> list[DecodedSegment]:
    """Every segment of ``seg`` as a ``(z, y, x)`` mask over the main stack of ``sources``."""
    frames = _main_stack(sources)
    first = sources[frames[0][0]]
    shape = (len(frames), int(first.Rows), int(first.Columns))
    _check_frame_of_reference(seg, first)
    series_uid = str(first.get("SeriesInstanceUID", ""))
    referenced = referenced_series_uids(seg)
    if referenced and series_uid not in referenced:
        raise SegMismatch(f"the SEG was made on series {', '.join(referenced)}, not on this "
                          f"image (series {series_uid})")
    if (int(seg.Rows), int(seg.Columns)) != shape[1:]:
        raise SegMismatch(f"the SEG's frames are {seg.Rows}x{seg.Columns} pixels, the image's "
                          f"{shape[1]}x{shape[2]}: it was made on another pixel grid")
    numbers = [int(item.SegmentNumber) for item in seg.SegmentSequence]
    kind = str(seg.SegmentationType)
    pixels = _frames(seg)
    masks = {number: np.zeros(shape, bool) for number in numbers}
    locate = _Locator(sources, frames, seg)
    per_frame = seg.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) != pixels.shape[0]:
        raise SegCorrupt(f"corrupt DICOM SEG: {pixels.shape[0]} frames of pixel data but "
                         f"{len(per_frame)} per-frame descriptions")
    for index, item in enumerate(per_frame):
        z = locate(index, item)
        frame = pixels[index]
        if kind == "LABELMAP":
            for number in numbers:
                masks[number][z] |= frame == number
            continue
        number = _segment_number(item, seg)
        if number not in masks:
            raise SegCorrupt(f"corrupt DICOM SEG: frame {index + 1} names segment {number}, "
                             "which the SEG does not describe")
        if kind == "FRACTIONAL":
            masks[number][z] |= frame > int(seg.get("MaximumFractionalValue") or 255) / 2
        else:
            masks[number][z] |= frame > 0
    out = []
    for item in seg.SegmentSequence:
        lab = item.get("RecommendedDisplayCIELabValue")
        out.append(DecodedSegment(number=int(item.SegmentNumber),
                                  label=str(item.get("SegmentLabel", "")).strip(),
                                  description=str(item.get("SegmentDescription", "")).strip(),
                                  color=lab_to_color(lab) if lab else None,
                                  mask=masks[int(item.SegmentNumber)]))
    return out


def color_to_lab(color: str) -> hd.color.CIELabColor:
    """``#rrggbb`` as a CIELab colour (what SEG's recommended display colour holds)."""
    if not _HEX.match(color):
        raise SegError(f"colour {color!r} is not #rrggbb")
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return hd.color.CIELabColor.from_rgb(r, g, b)


def lab_to_color(value: Sequence[int]) -> str | None:
    """A DICOM CIELab value (three unsigned shorts) as ``#rrggbb``; None if it is malformed."""
    try:
        r, g, b = hd.color.CIELabColor.from_dicom_value(tuple(int(v) for v in value)).to_rgb()
    except (TypeError, ValueError):
        return None
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, round(float(c)))) for c in (r, g, b)))


def _main_stack(sources: Sequence[pydicom.Dataset]) -> list[tuple[int, int]]:
    try:
        return main_stack_frames(sources)
    except ImagingError as exc:
        raise SegError(f"the image has no stack to segment: {exc}") from None


def _prepared(ds: pydicom.Dataset) -> pydicom.Dataset:
    """A shallow copy of a source header with the empty type 2 attributes highdicom copies."""
    copy = pydicom.Dataset(ds)
    copy.file_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
    for keyword in _TYPE2:
        if keyword not in copy:
            setattr(copy, keyword, "")
    return copy


def _description(number: int, segment: Segment) -> hd.seg.SegmentDescription:
    label = _lo(segment.label)
    if not label:
        raise SegError("a segment needs a label")
    item = hd.seg.SegmentDescription(
        segment_number=number, segment_label=label, segmented_property_category=CATEGORY,
        segmented_property_type=PROPERTY_TYPE,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        display_color=color_to_lab(segment.color))
    if _lo(segment.description):
        item.SegmentDescription = _lo(segment.description)
    return item


def _frames(seg: hd.seg.Segmentation) -> np.ndarray:
    """The stored frames ``(n, rows, cols)``, or SegCorrupt when the pixel data is broken."""
    try:
        pixels = seg.pixel_array
    except Exception as exc:  # noqa: BLE001  (short, missing or undecodable pixel data)
        raise SegCorrupt(f"corrupt DICOM SEG: its pixel data cannot be read ({exc})") from None
    pixels = np.asarray(pixels)
    return pixels.reshape((1, *pixels.shape)) if pixels.ndim == 2 else pixels


def _segment_number(item: pydicom.Dataset, seg: pydicom.Dataset) -> int:
    for group in (item, *(seg.get("SharedFunctionalGroupsSequence") or [])):
        ident = group.get("SegmentIdentificationSequence")
        if ident:
            return int(ident[0].ReferencedSegmentNumber)
    raise SegCorrupt("corrupt DICOM SEG: a frame does not say which segment it belongs to")


def _check_frame_of_reference(seg: pydicom.Dataset, source: pydicom.Dataset) -> None:
    theirs, ours = seg.get("FrameOfReferenceUID"), source.get("FrameOfReferenceUID")
    if theirs and ours and str(theirs) != str(ours):
        raise SegMismatch(f"the SEG is on frame of reference {theirs}, the image on {ours}: "
                          "it was made on another image or registration")


class _Locator:
    """Finds the main-stack slice of each SEG frame: by the source (instance, frame) it
    references, else by its plane position."""

    def __init__(self, sources: Sequence[pydicom.Dataset], frames: list[tuple[int, int]],
                 seg: pydicom.Dataset) -> None:
        self.by_reference: dict[tuple[str, int], int] = {}
        self.instances: set[str] = set()
        self.stack_uids = {str(sources[s].SOPInstanceUID) for s, _ in frames}
        for z, (source, frame) in enumerate(frames):
            uid = str(sources[source].SOPInstanceUID)
            self.by_reference[(uid, frame + 1)] = z
            if get_nr_frames(sources[source], warn=False) == 1:
                self.by_reference[(uid, 0)] = z  # no Referenced Frame Number: the one frame
        self.series = {str(ds.SOPInstanceUID) for ds in sources}
        infos = [frame_infos(sources[s], s)[f] for s, f in frames]
        self.positions = [i.position for i in infos]
        self.orientation = infos[0].orientation
        self.spacing = infos[0].pixel_spacing
        self.seg = seg

    def __call__(self, index: int, item: pydicom.Dataset) -> int:
        references = [(str(ref.ReferencedSOPInstanceUID), int(ref.get("ReferencedFrameNumber") or 0))
                      for derivation in item.get("DerivationImageSequence") or []
                      for ref in derivation.get("SourceImageSequence") or []
                      if ref.get("ReferencedSOPInstanceUID")]
        for key in references:
            if key in self.by_reference:
                return self.by_reference[key]
        foreign = [(uid, frame) for uid, frame in references if uid not in self.stack_uids]
        if foreign and len(foreign) == len(references):
            uid, frame = foreign[0]
            where = "a split-off part of the series (localizer, other stack)" \
                if uid in self.series else "another series"
            raise SegMismatch(f"SEG frame {index + 1} references instance {uid}"
                              + (f" frame {frame}" if frame else "")
                              + f", which is not a slice of this image: it is in {where}")
        return self._by_position(index, item)

    def _by_position(self, index: int, item: pydicom.Dataset) -> int:
        position = _vector(_item(item, self.seg, "PlanePositionSequence").get("ImagePositionPatient"))
        orientation = _vector(_item(item, self.seg, "PlaneOrientationSequence")
                              .get("ImageOrientationPatient"))
        if position is None or self.orientation is None or any(p is None for p in self.positions):
            if len(self.positions) == 1:
                return 0  # a single image: the SEG frame lies on it (the grid was checked)
            raise SegMismatch(f"SEG frame {index + 1} references no source image and has no "
                              "plane position to place it on a slice")
        if orientation is not None and not np.allclose(orientation, self.orientation,
                                                       atol=ORIENTATION_TOLERANCE):
            raise SegMismatch("the SEG's planes are oriented differently from the image's slices")
        spacing = _vector(_item(item, self.seg, "PixelMeasuresSequence").get("PixelSpacing"))
        if spacing is not None and not np.allclose(spacing, self.spacing, rtol=1e-3):
            raise SegMismatch(f"the SEG's pixel spacing {spacing[0]:g}x{spacing[1]:g} mm is not "
                              f"the image's {self.spacing[0]:g}x{self.spacing[1]:g} mm")
        ours = np.asarray(self.positions, float)
        distance = np.linalg.norm(ours - position, axis=1)
        z = int(np.argmin(distance))
        if distance[z] > POSITION_TOLERANCE_MM:
            along = float(np.dot(position - ours[0], slice_normal(self.orientation)))
            raise SegMismatch(f"SEG frame {index + 1} lies at {along:.2f} mm along the slice "
                              "normal, on none of the image's slices")
        return z


def _item(frame: pydicom.Dataset, seg: pydicom.Dataset, keyword: str) -> pydicom.Dataset:
    for group in (frame, *(seg.get("SharedFunctionalGroupsSequence") or [])):
        seq = group.get(keyword)
        if seq:
            return seq[0]
    return pydicom.Dataset()


def _vector(value: Any) -> np.ndarray | None:
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        out = np.asarray([float(v) for v in value], float)
    except (TypeError, ValueError):
        return None
    return out if out.size and np.all(np.isfinite(out)) else None


def _lo(text: str) -> str:
    """A Long String (LO) value: one line, no backslash (the value separator), ≤ 64 characters."""
    return re.sub(r"[\x00-\x1f\\]+", " ", text or "").strip()[:64]


def _person(name: str) -> str | None:
    """A person name (PN) as written, without value separators; None for no name."""
    cleaned = re.sub(r"[\x00-\x1f\\=]+", " ", name or "").strip()[:64]
    return cleaned or None


def _content_label(text: str) -> str:
    """A Content Label (CS): upper case letters, digits, space and underscore, ≤ 16 characters."""
    cleaned = re.sub(r"[^A-Z0-9_ ]", "_", (text or "").upper()).strip()[:16]
    return cleaned or "LABELSTACK"


def _ascii(ds: pydicom.Dataset) -> bool:
    """Whether every text value of the dataset (nested too) is plain ASCII."""
    for element in ds.iterall():
        if element.VR in ("LO", "SH", "ST", "LT", "UT", "PN") and element.value is not None:
            values = element.value if element.VM > 1 else [element.value]
            if any(not str(v).isascii() for v in values):
                return False
    return True
