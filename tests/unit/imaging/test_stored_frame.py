"""A frame shown from its stored bytes (`imaging.stored`) is the frame the whole pipeline shows:
for every grey reference file that has a head, for each VOI function and edge case, for stored
words with bits above Bits Stored, in both byte orders; and what has no head says so."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from labelstack.imaging import render_slice, volume_from_datasets
from labelstack.imaging.stored import FrameHead, frame_head, frame_length, render_stored
from labelstack.stores.local import read_header
from tests.unit.imaging.helpers import displayable_testdata, secondary_capture
from tests.unit.imaging.test_display_pipeline import WINDOWS, stored_image, voi_table

ASKED = [{}, {"center": 40.0, "width": 400.0}, {"invert": True}, {"width": 100.0}, {"center": -5.0},
         {"table": 0}, {"table": 1}]


def stored(path: Path | str) -> tuple[FrameHead | None, bytes]:
    """The head as the local store reads it (up to the pixel data, noting where its value
    lies) and the frame's bytes."""
    head = frame_head(read_header(Path(path)))
    if head is None or head["offset"] is None:
        return head, b""
    return head, Path(path).read_bytes()[head["offset"] : head["offset"] + frame_length(head)]


def assert_shows_as_the_volume(path: Path | str) -> int:
    """Every way of asking gives the bytes the volume's render gives, or None (then the caller
    renders the volume); returns how many were answered from the bytes."""
    head, data = stored(path)
    assert head is not None and data
    volume = volume_from_datasets([pydicom.dcmread(path)])
    answered = 0
    for asked in ASKED:
        shown = render_stored(data, head, fmt="png", **asked)
        if shown is not None:
            assert shown == render_slice(volume, "axial", 0, fmt="png", **asked), asked
            answered += 1
    return answered


def saved(ds: pydicom.Dataset, tmp_path: Path, name: str = "image.dcm") -> Path:
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


def _with_heads() -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [p for p in displayable_testdata(grey=True) if stored(p.values[0])[0] is not None]


WITH_HEADS = _with_heads()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("path", WITH_HEADS)
def test_every_reference_file_with_a_head_shows_as_its_volume(path: str) -> None:
    assert assert_shows_as_the_volume(path) >= 1  # a window asked is always answered


def test_the_native_single_frame_reference_files_have_heads() -> None:
    """Of pydicom's grey files, the compressed and multi-frame ones have none (shown from their
    volume); the 49 others have one."""
    assert len(WITH_HEADS) == 49


@pytest.mark.parametrize("tags", WINDOWS)
def test_every_stored_value_shows_as_its_volume(tags: dict, tmp_path: Path) -> None:
    """All 65 536 signed 16-bit words, through each VOI function and edge case."""
    assert assert_shows_as_the_volume(saved(stored_image(**tags), tmp_path)) >= 3


@pytest.mark.parametrize("signed", [False, True])
def test_bits_above_bits_stored_are_read_as_pydicom_reads_them(signed: bool, tmp_path: Path) -> None:
    """12 bits stored in 16: every word, high bits set, read as pydicom masks (or extends the sign
    of) them, then windowed."""
    words = np.arange(1 << 16, dtype=np.uint16).reshape(256, 256)
    ds = secondary_capture(words.view(np.int16) if signed else words, "MONOCHROME2", BitsStored=12,
                           HighBit=11, WindowCenter=100, WindowWidth=1500, RescaleIntercept=-1024)
    assert assert_shows_as_the_volume(saved(ds, tmp_path)) >= 3


@pytest.mark.parametrize("syntax", [ExplicitVRBigEndian, ImplicitVRLittleEndian])
def test_other_native_syntaxes_show_as_their_volume(syntax: pydicom.uid.UID, tmp_path: Path) -> None:
    ds = stored_image(RescaleIntercept=-1024, WindowCenter=40, WindowWidth=400)
    ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / "image.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=syntax.is_implicit_VR,
                     little_endian=syntax.is_little_endian, force_encoding=True)
    assert stored(path)[0]["syntax"] == syntax
    assert assert_shows_as_the_volume(path) >= 3


def test_a_rescale_far_from_its_window_shows_as_its_volume(tmp_path: Path) -> None:
    """Float32 modality values cannot tell every stored value apart here (|intercept / slope|
    > 2^22): the volume's index then errs by one, and the bytes are shown as the volume shows
    them, not more exactly."""
    ds = stored_image(RescaleSlope=1e-4, RescaleIntercept=3000, WindowCenter=3001, WindowWidth=0.01,
                      VOILUTFunction="LINEAR_EXACT")
    assert assert_shows_as_the_volume(saved(ds, tmp_path)) >= 3


def test_eight_bit_words_show_as_their_volume(tmp_path: Path) -> None:
    ds = secondary_capture(np.arange(256, dtype=np.uint8).reshape(16, 16).repeat(4, 0), "MONOCHROME1",
                           WindowCenter=128, WindowWidth=200)
    assert assert_shows_as_the_volume(saved(ds, tmp_path)) >= 3


def test_a_voi_lut_table_is_shown_as_the_volume_shows_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    tables = [voi_table(100, np.sort(rng.integers(0, 4096, 3000)), 12, "NORMAL"),
              voi_table(0, np.sort(rng.integers(0, 256, 4096))[::-1], 8, "HARDER")]
    ds = stored_image((np.arange(256 * 256, dtype=np.uint16) % 4096).reshape(256, 256), BitsStored=12,
                      HighBit=11, VOILUTSequence=tables)
    assert assert_shows_as_the_volume(saved(ds, tmp_path)) == 5  # no window to complete half of


def _eight_bit_big_endian(tmp_path: Path) -> Path:
    """8 bits allocated in an OW element of a big-endian file: pydicom swaps each byte pair, which
    no per-word table can do."""
    ds = secondary_capture(np.arange(64, dtype=np.uint8).reshape(8, 8), "MONOCHROME2",
                           WindowCenter=30, WindowWidth=60)
    ds["PixelData"].VR = "OW"
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    path = tmp_path / "image.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    return path


def test_eight_bits_in_a_big_endian_ow_element_have_no_head(tmp_path: Path) -> None:
    assert stored(_eight_bit_big_endian(tmp_path))[0] is None


def test_a_pixel_value_shorter_than_its_frame_has_no_head(tmp_path: Path) -> None:
    """Truncated: the general path refuses it with its reason; the bytes must not be shown."""
    ds = stored_image(WindowCenter=0, WindowWidth=100)
    ds.PixelData = ds.PixelData[:-64]
    assert stored(saved(ds, tmp_path))[0] is None


def test_a_header_read_leaves_the_pixel_data_in_the_file(tmp_path: Path) -> None:
    path = saved(stored_image(WindowCenter=0, WindowWidth=100), tmp_path)
    header = read_header(path)
    assert "PixelData" not in header
    head = frame_head(header)
    assert head is not None and head["file_size"] == path.stat().st_size
    assert head["offset"] == path.stat().st_size - frame_length(head)  # the last element


NO_HEAD = {
    "compressed": lambda: pydicom.dcmread(get_testdata_file("JPEG-LL.dcm")),
    "colour": lambda: pydicom.dcmread(get_testdata_file("SC_rgb.dcm")),
    "multi-frame": lambda: pydicom.dcmread(get_testdata_file("emri_small.dcm")),
    "32 bits": lambda: secondary_capture(np.zeros((4, 4), np.uint32), "MONOCHROME2"),
    "a modality LUT": lambda: stored_image(ModalityLUTSequence=[voi_table(0, np.arange(4096), 12, "")]),
    "VOI LUT data left out": lambda: stored_image(VOILUTSequence=[_without_data()]),
}


def _without_data() -> pydicom.Dataset:
    item = pydicom.Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    return item


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kind", NO_HEAD)
def test_what_only_its_volume_can_show_has_no_head(kind: str) -> None:
    assert frame_head(NO_HEAD[kind]()) is None


def test_what_the_head_cannot_answer_is_left_to_the_volume(tmp_path: Path) -> None:
    no_window = saved(stored_image(), tmp_path)  # OT, no window: the default is the pixels' own
    head, data = stored(no_window)
    assert head is not None and head["window"] is None
    assert render_stored(data, head, fmt="png") is None
    assert render_stored(data, head, width=100.0, fmt="png") is None
    assert render_stored(data, head, center=1.0, width=100.0, fmt="png") is not None
    assert render_stored(data[:-1], head, center=1.0, width=100.0, fmt="png") is None  # too few bytes
    assert render_stored(data, head, table=0, center=1.0, width=100.0, fmt="png") is None  # no tables
    unknown = {**head, "syntax": ""}
    assert render_stored(data, unknown, center=1.0, width=100.0, fmt="png") is None
    assert render_stored(data, unknown, syntax="1.2.840.10008.1.2.4.70", fmt="png") is None

