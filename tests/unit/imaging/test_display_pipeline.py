"""The display pipeline to the level: rendered pixels equal the standard's, as pydicom computes it.

The reference, per frame: pydicom's ``apply_modality_lut`` on the stored values, then its
``apply_voi`` (table → ``v · 255 / (2^n − 1)``) or ``apply_windowing`` with an 8-bit unsigned
output range (so ymin = 0, ymax = 255 in the standard's formulas), rounded half up; then 255 − v
for MONOCHROME1 or Presentation LUT Shape INVERSE. Every comparison is exact (0 levels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_voi, apply_windowing

from labelstack.imaging import VolumeCache, extract_slice, volume_from_datasets, window_presets, window_slice
from labelstack.imaging.display import FUNCTIONS
from labelstack.imaging.volume import main_stack_frames
from labelstack.imaging.window import default_window
from tests.unit.imaging.conftest import roundtrip
from tests.unit.imaging.helpers import displayable_testdata, secondary_capture

ALL_STORED = np.arange(-32768, 32768, dtype=np.int16).reshape(256, 256)  # every signed 16-bit value


def eight_bit(center: float, width: float, function: str) -> pydicom.Dataset:
    """A VOI item whose output range pydicom takes as 0 … 255 (8 bits stored, no rescale)."""
    ds = pydicom.Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "MONOCHROME2", 8, 0
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = center, width, function
    return ds


def half_up(y: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def flat_frame(ds: pydicom.Dataset, frame: int) -> pydicom.Dataset:
    """The dataset as pydicom's functions read it: an enhanced frame's own (else shared)
    Pixel Value Transformation and Frame VOI LUT items lifted to the top level."""
    groups = ds.get("PerFrameFunctionalGroupsSequence")
    if groups is None:
        return ds
    flat = pydicom.Dataset()
    flat.file_meta = ds.file_meta
    for keyword in ("PhotometricInterpretation", "BitsStored", "PixelRepresentation"):
        setattr(flat, keyword, ds[keyword].value)
    shared = (ds.get("SharedFunctionalGroupsSequence") or [pydicom.Dataset()])[0]
    for sequence in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
        item = next((g[sequence][0] for g in (groups[frame], shared) if g.get(sequence)), pydicom.Dataset())
        for element in item:
            flat[element.tag] = element
    return flat


def reference(ds: pydicom.Dataset, frame: int, stored: np.ndarray, *, window: tuple[float, float] | None,
              table: int = 0) -> np.ndarray:
    """The standard's display values of one frame: the file's VOI LUT table ``table`` if it has
    one, else its first window, else ``window`` (LINEAR); ``window`` given always wins."""
    flat = flat_frame(ds, frame)
    modality = apply_modality_lut(stored, flat)
    function = str(flat.get("VOILUTFunction") or "LINEAR").upper()
    if window is None and flat.get("VOILUTSequence"):
        bits = int(flat.VOILUTSequence[table].LUTDescriptor[2])
        shown = half_up(table_values(modality, flat, table).astype(np.float64) * 255 / ((1 << bits) - 1))
    else:
        if window is None:
            window = (float(_first(flat.WindowCenter)), float(_first(flat.WindowWidth)))
        shown = half_up(apply_windowing(modality, eight_bit(*window, function if function in FUNCTIONS
                                                             else "LINEAR")))
    inverse = ds.PhotometricInterpretation == "MONOCHROME1" or \
        str(ds.get("PresentationLUTShape") or "").strip().upper() == "INVERSE"
    return 255 - shown if inverse else shown


def table_values(modality: np.ndarray, ds: pydicom.Dataset, table: int) -> np.ndarray:
    """PS3.3 C.11.2.1.1: inputs below the first mapped value take the first entry, beyond the
    table the last. pydicom's ``apply_voi`` agrees, except that for 8-bit entries it computes
    the index in 8 bits too (wrapping for tables longer than 256), so it is used for the rest."""
    item = ds.VOILUTSequence[table]
    if int(item.LUTDescriptor[2]) > 8:
        return apply_voi(modality, ds, table)
    data = np.asarray(item.LUTData)
    return data[np.clip(np.trunc(modality.astype(np.float64) - int(item.LUTDescriptor[1])), 0,
                        len(data) - 1).astype(np.intp)]


def _first(value):
    return value[0] if isinstance(value, pydicom.multival.MultiValue) else value


def usable_window(ds: pydicom.Dataset) -> bool:
    flat = flat_frame(ds, 0)
    if flat.get("VOILUTSequence"):
        return True
    if "WindowCenter" not in flat or "WindowWidth" not in flat:
        return False
    function = str(flat.get("VOILUTFunction") or "LINEAR").upper()
    return float(_first(flat.WindowWidth)) >= (1 if function == "LINEAR" else 1e-9)


def assert_shows_like_the_standard(ds: pydicom.Dataset, *, slices: int | None = None) -> None:
    """Each slice of the volume of ``ds`` (or its first and last ``slices``) in the default
    display equals the reference for the frame it comes from."""
    volume = volume_from_datasets([ds])
    frames = main_stack_frames([ds])
    own = usable_window(ds)
    window = None if own else default_window(volume)
    if window is not None:  # a window as a DS can carry it, so that pydicom reads the same
        window = tuple(float(pydicom.valuerep.DSfloat(v, auto_format=True)) for v in window)
    picked = range(len(frames)) if slices is None else sorted({0, len(frames) - 1})
    wanted = np.zeros(volume.shape, np.uint8)
    for z in picked:
        frame = frames[z][1]
        stored = pydicom.pixels.pixel_array(ds, index=frame) if "NumberOfFrames" in ds \
            else ds.pixel_array
        wanted[z] = reference(ds, frame, stored, window=window)
    for z in picked:
        shown = window_slice(volume, "axial", z, **({} if window is None else
                                                    {"center": window[0], "width": window[1]}))
        want = extract_slice(volume, "axial", z, data=wanted)  # as the view orients the frame
        diff = np.abs(shown.astype(int) - want.astype(int))
        assert diff.max() == 0, f"slice {z}: {np.count_nonzero(diff)} pixels differ (max {diff.max()})"


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("path", displayable_testdata(grey=True))
def test_every_reference_file_shows_as_the_standard_says(path: str) -> None:
    ds = pydicom.dcmread(path)
    assert_shows_like_the_standard(ds, slices=2)


def stored_image(stored: np.ndarray = ALL_STORED, **tags) -> pydicom.Dataset:
    """A secondary capture of ``stored`` (int16 → signed, uint16 → unsigned) with ``tags``."""
    return secondary_capture(stored, "MONOCHROME2", **tags)


WINDOWS = [
    pytest.param({"RescaleSlope": 1, "RescaleIntercept": -1024, "WindowCenter": 40, "WindowWidth": 400},
                 id="ct-linear"),
    pytest.param({"WindowCenter": 0, "WindowWidth": 1}, id="linear-width-1-threshold"),
    pytest.param({"WindowCenter": 10.5, "WindowWidth": 2}, id="linear-width-2"),
    pytest.param({"WindowCenter": 100, "WindowWidth": 256, "VOILUTFunction": "LINEAR"}, id="linear-256"),
    pytest.param({"WindowCenter": 100, "WindowWidth": 256, "VOILUTFunction": "LINEAR_EXACT"},
                 id="linear-exact"),
    pytest.param({"WindowCenter": 3.25, "WindowWidth": 0.5, "VOILUTFunction": "LINEAR_EXACT"},
                 id="linear-exact-narrow"),
    pytest.param({"WindowCenter": 0, "WindowWidth": 3000, "VOILUTFunction": "SIGMOID"}, id="sigmoid"),
    pytest.param({"RescaleSlope": 0.0123, "RescaleIntercept": 3.5, "WindowCenter": 120.3,
                  "WindowWidth": 301.7}, id="fractional-rescale-linear"),
    pytest.param({"RescaleSlope": 2.5, "RescaleIntercept": -7, "WindowCenter": 400, "WindowWidth": 1000,
                  "VOILUTFunction": "SIGMOID"}, id="rescale-sigmoid"),
    pytest.param({"RescaleSlope": 1, "RescaleIntercept": 0, "WindowCenter": 40, "WindowWidth": 400,
                  "PresentationLUTShape": "INVERSE"}, id="presentation-inverse"),
    pytest.param({"PhotometricInterpretation": "MONOCHROME1", "WindowCenter": 500, "WindowWidth": 2000},
                 id="monochrome1"),
    pytest.param({"PhotometricInterpretation": "MONOCHROME1", "PresentationLUTShape": "INVERSE",
                  "WindowCenter": 500, "WindowWidth": 2000}, id="monochrome1-declared-inverse-flips-once"),
]


@pytest.mark.parametrize("tags", WINDOWS)
def test_every_stored_value_shows_as_the_standard_says(tags: dict) -> None:
    """All 65 536 signed 16-bit stored values, through each VOI function and edge case."""
    assert_shows_like_the_standard(stored_image(**tags))


def voi_table(first: int, data: np.ndarray, bits: int, explanation: str) -> pydicom.Dataset:
    item = pydicom.Dataset()
    item.LUTDescriptor = [len(data), first, bits]
    item.LUTExplanation = explanation
    item.add_new("LUTData", "US", [int(v) for v in data])
    return item


def test_a_voi_lut_sequence_shows_its_tables_and_offers_each() -> None:
    stored = (np.arange(256 * 256, dtype=np.uint16) % 4096).reshape(256, 256)
    rng = np.random.default_rng(3)
    tables = [voi_table(100, np.sort(rng.integers(0, 4096, 3000)), 12, "NORMAL"),
              voi_table(0, np.sort(rng.integers(0, 256, 4096))[::-1], 8, "HARDER")]
    ds = stored_image(stored, BitsStored=12, HighBit=11, VOILUTSequence=tables, WindowCenter=2048,
                      WindowWidth=4096, WindowCenterWidthExplanation="FULL")
    assert_shows_like_the_standard(ds)  # the first table, as pydicom prefers
    volume = volume_from_datasets([ds])
    presets = window_presets(volume)
    assert [presets[k].label for k in ("default", "table 1", "table 2", "file 1")] == [
        "Default · NORMAL (VOI LUT)", "NORMAL (VOI LUT)", "HARDER (VOI LUT)", "FULL · W 4096 L 2048"]
    second = window_slice(volume, "axial", 0, table=presets["table 2"].table)
    np.testing.assert_array_equal(second, reference(ds, 0, ds.pixel_array, window=None, table=1))
    full = presets["file 1"]
    file_window = window_slice(volume, "axial", 0, center=full.center, width=full.width)
    np.testing.assert_array_equal(file_window, reference(ds, 0, ds.pixel_array, window=(2048, 4096)))


def test_an_unreadable_voi_lut_is_left_out_and_the_window_shown() -> None:
    broken = pydicom.Dataset()
    broken.LUTDescriptor = [4096, 0]  # two values: not a LUT descriptor
    broken.add_new("LUTData", "US", [0] * 4096)
    ds = stored_image(VOILUTSequence=[broken], WindowCenter=40, WindowWidth=400)
    volume = volume_from_datasets([ds])
    assert "table 1" not in window_presets(volume)
    want = reference(ds, 0, ds.pixel_array, window=(40, 400))
    np.testing.assert_array_equal(window_slice(volume), want)


def test_a_modality_lut_sequence_feeds_the_window() -> None:
    stored = (np.arange(256 * 256, dtype=np.uint16) % 4096).reshape(256, 256)
    lut = pydicom.Dataset()
    lut.LUTDescriptor, lut.ModalityLUTType = [4096, 0, 16], "HU"
    lut.add_new("LUTData", "US", [int(v) for v in (np.arange(4096) * 7 // 3 + 50)])
    ds = stored_image(stored, BitsStored=12, HighBit=11, ModalityLUTSequence=[lut], WindowCenter=4000,
                      WindowWidth=5000)
    assert_shows_like_the_standard(ds)


def test_the_file_windows_are_presets_with_their_explanations() -> None:
    ds = stored_image(RescaleSlope=1, RescaleIntercept=-1024, Modality="CT", WindowCenter=[40, -600],
                      WindowWidth=[400, 1500], WindowCenterWidthExplanation=["SOFT", "LUNG"])
    volume = volume_from_datasets([ds])
    presets = window_presets(volume)
    assert presets["default"].label == "Default · SOFT · W 400 L 40" and presets["default"].own
    assert (presets["file 1"].label, presets["file 2"].label) == ("SOFT · W 400 L 40", "LUNG · W 1500 L -600")
    assert {"brain", "soft tissue", "lung", "bone", "liver", "auto"} <= set(presets)
    lung = presets["file 2"]
    np.testing.assert_array_equal(window_slice(volume, center=lung.center, width=lung.width),
                                  reference(ds, 0, ds.pixel_array, window=(-600, 1500)))


def enhanced(order: list[int]) -> pydicom.Dataset:
    """An enhanced CT whose frames carry their own rescale and VOI (frame 2 inherits the shared
    ones), stored in ``order`` along the slice normal."""
    path = get_testdata_file("eCT_Supplemental.dcm", download=False)
    assert path is not None
    ds = pydicom.dcmread(path)
    rows = cols = 64
    ds.NumberOfFrames, ds.Rows, ds.Columns = len(order), rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    shared = ds.SharedFunctionalGroupsSequence[0]
    shared.PixelMeasuresSequence[0].PixelSpacing = [0.5, 0.5]
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    transform, voi = pydicom.Dataset(), pydicom.Dataset()
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 1, -1024, "HU"
    voi.WindowCenter, voi.WindowWidth, voi.WindowCenterWidthExplanation = 300, 1500, "SHARED"
    shared.PixelValueTransformationSequence, shared.FrameVOILUTSequence = [transform], [voi]
    groups, pixels = [], []
    for position in order:
        item = pydicom.Dataset()
        item.PlanePositionSequence = [pydicom.Dataset()]
        item.PlanePositionSequence[0].ImagePositionPatient = [0.0, 0.0, 2.0 * position]
        if position < 2:
            own, own_voi = pydicom.Dataset(), pydicom.Dataset()
            own.RescaleSlope, own.RescaleIntercept, own.RescaleType = 0.5 + position, -100 * position, "US"
            own_voi.WindowCenter, own_voi.WindowWidth = 200 + 50 * position, 400 + 100 * position
            own_voi.VOILUTFunction = ("LINEAR_EXACT", "SIGMOID")[position]
            item.PixelValueTransformationSequence, item.FrameVOILUTSequence = [own], [own_voi]
        groups.append(item)
        pixels.append((np.arange(rows * cols, dtype=np.uint16) * (position + 1) % 4096).reshape(rows, cols))
    ds.PerFrameFunctionalGroupsSequence = groups
    ds.PixelData = np.stack(pixels).astype("<u2").tobytes()
    return roundtrip(ds)


@pytest.mark.filterwarnings("ignore")
def test_an_enhanced_multiframe_shows_each_frame_with_its_own_values() -> None:
    ds = enhanced([2, 0, 1])
    assert [f for _, f in main_stack_frames([ds])] == [1, 2, 0]
    assert_shows_like_the_standard(ds)
    volume = volume_from_datasets([ds])
    presets = window_presets(volume)
    assert presets["default"].label == "Default · each frame's own window (from the file)"
    assert {p.label for k, p in presets.items() if k.startswith("file")} == {
        "File window 1 · W 400 L 200", "File window 2 · W 500 L 250", "SHARED · W 1500 L 300"}


def test_the_display_spec_survives_the_disk_cache(tmp_path: Path) -> None:
    ds = stored_image(RescaleSlope=0.0123, RescaleIntercept=3.5, WindowCenter=120.3, WindowWidth=301.7,
                      VOILUTFunction="SIGMOID")
    volume = volume_from_datasets([ds])
    first = VolumeCache(tmp_path, 1 << 30)
    first.get("key", lambda: volume)
    first.flush()
    again = VolumeCache(tmp_path, 1 << 30).get("key", lambda: pytest.fail("not read from disk"))
    assert again.display == volume.display
    np.testing.assert_array_equal(window_slice(again), window_slice(volume))
