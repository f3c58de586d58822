"""The import door of the imaging core (issue 12, findings 3 and 4): broken headers and pixel
data are refused with a reason and never escape as other exceptions; what gets through can
be displayed, with a sensible default and a warning where the header lacks one."""

from __future__ import annotations

import struct
from io import BytesIO

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_fragments

from labelstack.imaging import ImagingError
from labelstack.imaging.dataset import parse_dataset, undisplayable
from labelstack.imaging.decode import decode_frames, decoder_failure
from labelstack.imaging.frames import ASSUMED_AXIAL, frame_infos
from labelstack.imaging.phantom import ct_datasets
from labelstack.imaging.tags import tag_rows
from labelstack.imaging.volume import volume_from_datasets
from tests.unit.imaging.conftest import load, roundtrip


def _raw(ds: pydicom.Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _unknown_vr(raw: bytes, tag: int) -> bytes:
    at = raw.find(struct.pack("<HH", tag >> 16, tag & 0xFFFF), 132)
    return raw[:at + 4] + b"XX" + raw[at + 6:]


def _slice(**values) -> pydicom.Dataset:  # noqa: ANN003
    ds = ct_datasets(shape=(1, 8, 8), series_uid="1.2.826.0.1.3680043.8.498.5101", seed=None)[0]
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize("tag,keyword", [(0x00080018, "SOPInstanceUID"),
                                         (0x0020000D, "StudyInstanceUID")])
def test_a_uid_of_unknown_vr_is_refused_by_name(tag: int, keyword: str) -> None:
    with pytest.raises(ImagingError, match=f"cannot read {keyword}"):
        parse_dataset(_unknown_vr(_raw(_slice()), tag))


def _rle_flipped() -> pydicom.Dataset:
    ds = load("MR_small_RLE.dcm")
    [fragment] = [f for f in generate_fragments(ds.PixelData) if len(f) > 64]
    ds.PixelData = encapsulate([fragment[:64] + bytes(b ^ 0xFF for b in fragment[64:])])
    return roundtrip(ds)


def test_a_panicking_decoder_is_a_reason_not_a_crash() -> None:
    """pylibjpeg-rle panics on these bytes; its PanicException is no Exception."""
    why = undisplayable(_rle_flipped())
    assert why is not None and why.startswith("cannot decode pixel data (RLE Lossless"), why
    with pytest.raises(ImagingError, match="cannot decode pixel data"):
        decode_frames(_rle_flipped())


def test_interrupts_are_not_decoder_failures() -> None:
    assert decoder_failure(ValueError()) and not decoder_failure(KeyboardInterrupt())
    assert not decoder_failure(SystemExit()) and not decoder_failure(GeneratorExit())


UNDISPLAYABLE = [
    pytest.param({"Rows": 0}, id="rows-0"),
    pytest.param({"PhotometricInterpretation": "R#B"}, id="photometric-R#B"),
    pytest.param({"PhotometricInterpretation": "PALETTE COLOR"}, id="palette-without-tables"),
    pytest.param({"BitsAllocated": 12}, id="bits-allocated-12"),
    pytest.param({"RescaleSlope": "1e39"}, id="rescale-overflows"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("values", UNDISPLAYABLE)
def test_what_the_viewer_cannot_show_is_undisplayable(values: dict) -> None:
    ds = roundtrip(_slice(**values))
    why = undisplayable(ds)
    assert why, values
    with pytest.raises(ImagingError):
        volume_from_datasets([ds])


def test_a_broken_palette_is_undisplayable() -> None:
    ds = load("OBXXXX1A.dcm")
    ds.RedPaletteColorLookupTableData = b"\0\1" * 3
    assert undisplayable(roundtrip(ds))


@pytest.mark.parametrize("orientation", [None, [0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0],
                                         [2, 0, 0, 0, 2, 0]], ids=["missing", "zero", "parallel",
                                                                    "not-unit"])
def test_a_series_without_a_usable_orientation_is_stacked_as_axial(ct_series, orientation) -> None:  # noqa: ANN001
    datasets = ct_series(shape=(4, 8, 8), seed=None)
    for ds in datasets:
        if orientation is None:
            del ds.ImageOrientationPatient
        else:
            ds.ImageOrientationPatient = orientation
    volume = volume_from_datasets([roundtrip(ds) for ds in datasets])
    assert (volume.kind, volume.shape) == ("volume", (4, 8, 8))
    assert volume.orientation == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    assert volume.spacing == pytest.approx((2.5, 0.7, 0.7)) and volume.warnings == [ASSUMED_AXIAL]


def test_non_finite_header_numbers_count_as_missing() -> None:
    ds = roundtrip(_slice(WindowCenter="nan", WindowWidth="inf", SliceThickness="inf",
                          PixelSpacing=["1e999", "1"]))
    [info] = frame_infos(ds, 0)
    assert (info.window, info.thickness, info.pixel_spacing) == (None, None, (1.0, 1.0))
    volume = volume_from_datasets([ds])
    assert all(np.isfinite(volume.spacing))


def test_a_cine_with_an_infinite_frame_time_has_none() -> None:
    ds = load("examples_ybr_color.dcm")
    ds.FrameTime = "inf"
    assert volume_from_datasets([roundtrip(ds)]).frame_time_ms is None


def test_a_tag_of_unknown_vr_is_a_row_saying_so() -> None:
    ds = pydicom.dcmread(BytesIO(_unknown_vr(_raw(_slice()), 0x00080070)))
    rows = {r["tag"]: r for r in tag_rows(ds)}
    assert rows["(0008,0070)"]["keyword"] == "Manufacturer" and rows["(0008,0070)"]["vr"] == "XX"
    assert rows["(0008,0070)"]["value"].startswith("<cannot read 18 bytes as XX: NotImplementedError")
    assert rows["(0008,0060)"]["value"] == "CT"
