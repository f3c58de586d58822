"""Decoding real files in every transfer syntax pydicom + pydicom-data carry."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames, parse_fragments
from pydicom.pixels import apply_modality_lut, get_decoder
from pydicom.uid import UID

from labelstack.imaging import ImagingError, check_decodable, decode_frames, volume_from_datasets
from tests.unit.imaging.conftest import load

# (file, uncompressed original): must decode to identical values.
LOSSLESS = [
    pytest.param("MR_small_implicit.dcm", "MR_small.dcm", id="implicit-LE"),
    pytest.param("MR_small_bigendian.dcm", "MR_small.dcm", id="big-endian"),
    pytest.param("MR_small_expb.dcm", "MR_small.dcm", id="big-endian-2"),
    pytest.param(
        "MR_small_padded.dcm",
        "MR_small.dcm",
        id="padded",
        marks=pytest.mark.filterwarnings("ignore:The pixel data is .* excess padding"),
    ),
    pytest.param("MR_small_RLE.dcm", "MR_small.dcm", id="RLE-mono16"),
    pytest.param("MR_small_jp2klossless.dcm", "MR_small.dcm", id="J2K-lossless-mono16"),
    pytest.param("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm", id="JPEG-LS-lossless-mono16"),
    pytest.param("emri_small_RLE.dcm", "emri_small.dcm", id="RLE-multiframe"),
    pytest.param("emri_small_big_endian.dcm", "emri_small.dcm", id="big-endian-multiframe"),
    pytest.param("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm", id="J2K-lossless-multiframe"),
    pytest.param("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm", id="JPEG-LS-lossless-multiframe"),
    pytest.param("693_J2KR.dcm", "693_UNCR.dcm", id="J2K-lossless-CT"),
    pytest.param("MR2_J2KR.dcm", "MR2_UNCR.dcm", id="J2K-lossless-MR"),
    pytest.param("RG1_J2KR.dcm", "RG1_UNCR.dcm", id="J2K-lossless-CR-MONOCHROME1"),
    pytest.param("RG3_J2KR.dcm", "RG3_UNCR.dcm", id="J2K-lossless-CR-2"),
    pytest.param("US1_J2KR.dcm", "US1_UNCR.dcm", id="J2K-lossless-YBR_RCT"),
    pytest.param("SC_rgb_jpeg_gdcm.dcm", "SC_rgb.dcm", id="JPEG-lossless-SV1-RGB"),
    pytest.param("SC_rgb_rle.dcm", "SC_rgb.dcm", id="RLE-RGB"),
    pytest.param("SC_rgb_expb.dcm", "SC_rgb.dcm", id="big-endian-RGB"),
    pytest.param("SC_rgb_gdcm2k_uncompressed.dcm", "SC_rgb.dcm", id="RGB-copy"),
    pytest.param("SC_rgb_rle_2frame.dcm", "SC_rgb_2frame.dcm", id="RLE-RGB-2frame"),
    pytest.param("SC_rgb_expb_2frame.dcm", "SC_rgb_2frame.dcm", id="big-endian-RGB-2frame"),
    pytest.param("SC_rgb_rle_16bit.dcm", "SC_rgb_16bit.dcm", id="RLE-RGB-16bit"),
    pytest.param("SC_rgb_expb_16bit.dcm", "SC_rgb_16bit.dcm", id="big-endian-RGB-16bit"),
    pytest.param("SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_16bit_2frame.dcm", id="RLE-RGB-16bit-2frame"),
    pytest.param("SC_rgb_rle_32bit.dcm", "SC_rgb_32bit.dcm", id="RLE-RGB-32bit"),
    pytest.param("SC_rgb_expb_32bit_2frame.dcm", "SC_rgb_32bit_2frame.dcm", id="big-endian-RGB-32bit-2frame"),
    pytest.param("SC_rgb_small_odd_big_endian.dcm", "SC_rgb_small_odd.dcm", id="big-endian-odd-size"),
    pytest.param("OBXXXX1A_rle.dcm", "OBXXXX1A.dcm", id="RLE-palette"),
    pytest.param("OBXXXX1A_expb.dcm", "OBXXXX1A.dcm", id="big-endian-palette"),
    pytest.param("OBXXXX1A_rle_2frame.dcm", "OBXXXX1A_2frame.dcm", id="RLE-palette-2frame"),
    pytest.param("gdcm-US-ALOKA-16_big.dcm", "gdcm-US-ALOKA-16.dcm", id="big-endian-palette-16bit"),
    pytest.param("rtdose_rle.dcm", "rtdose.dcm", id="RLE-32bit-multiframe"),
    pytest.param("rtdose_expb.dcm", "rtdose.dcm", id="big-endian-32bit-multiframe"),
    pytest.param("liver_expb.dcm", "liver.dcm", id="big-endian-1bit"),
    pytest.param("color-pl.dcm", "color-px.dcm", id="planar-configuration-1"),
]

# Lossy files against the decompression another toolkit (dcmtk, GDCM, Kakadu) stored beside them;
# YBR → RGB conversion rounding may differ by 1.
LOSSY_REFERENCE = [
    pytest.param("693_J2KI.dcm", "693_UNCI.dcm", 0, id="J2K-lossy-CT"),
    pytest.param("MR2_J2KI.dcm", "MR2_UNCI.dcm", 0, id="J2K-lossy-MR"),
    pytest.param("RG1_J2KI.dcm", "RG1_UNCI.dcm", 0, id="J2K-lossy-CR"),
    pytest.param("US1_J2KI.dcm", "US1_UNCI.dcm", 0, id="J2K-lossy-YBR_ICT"),
    pytest.param("SC_rgb_gdcm_KY.dcm", "SC_rgb_gdcm2k_uncompressed.dcm", 0, id="J2K-RGB"),
    pytest.param("SC_rgb_dcmtk_+eb+cr.dcm", "SC_rgb_dcmtk_ebcr_dcmd.dcm", 1, id="JPEG-baseline-RGB"),
    pytest.param(
        "SC_rgb_dcmtk_+eb+cy+n1.dcm", "SC_rgb_dcmtk_ebcyn1_dcmd.dcm", 2, id="JPEG-baseline-YBR_FULL"
    ),
    pytest.param(
        "SC_rgb_dcmtk_+eb+cy+s4.dcm", "SC_rgb_dcmtk_ebcys4_dcmd.dcm", 1, id="JPEG-baseline-YBR_FULL-2"
    ),
    pytest.param(
        "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_dcmtk_ebcynp_dcmd.dcm", 2, id="JPEG-baseline-YBR_FULL_422"
    ),
    pytest.param(
        "SC_rgb_dcmtk_+eb+cy+s2.dcm", "SC_rgb_dcmtk_ebcys2_dcmd.dcm", 1, id="JPEG-baseline-YBR_FULL_422-2"
    ),
    pytest.param("SC_rgb_jpeg.dcm", "SC_rgb_jpeg_dcmd.dcm", 1, id="JPEG-baseline-vs-dcmd"),
]

# Lossy files against the lossless original: close, by mean absolute error relative to the range.
LOSSY_ORIGINAL = [
    pytest.param("693_J2KI.dcm", "693_UNCR.dcm", 0.02, id="J2K-lossy-CT"),
    pytest.param("MR2_J2KI.dcm", "MR2_UNCR.dcm", 0.02, id="J2K-lossy-MR"),
    pytest.param("RG3_J2KI.dcm", "RG3_UNCR.dcm", 0.02, id="J2K-lossy-CR"),
    pytest.param("US1_J2KI.dcm", "US1_UNCR.dcm", 0.02, id="J2K-lossy-US"),
    pytest.param("JPGExtended.dcm", "JPEG-LL.dcm", 0.02, id="JPEG-extended-12bit"),
    pytest.param("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb.dcm", 0.01, id="JPEG-baseline-YBR"),
    pytest.param("SC_rgb_jpeg_lossy_gdcm.dcm", "SC_rgb.dcm", 0.02, id="JPEG-baseline-gdcm"),
    pytest.param("SC_rgb_jls_lossy_line.dcm", "SC_rgb.dcm", 0.01, id="JPEG-LS-near-lossless-line"),
    pytest.param("SC_rgb_jls_lossy_sample.dcm", "SC_rgb.dcm", 0.01, id="JPEG-LS-near-lossless-sample"),
]

# Files without a stored original: they must decode to the shape their header announces.
DECODE_ONLY = [
    pytest.param("image_dfl.dcm", (1, 512, 512), id="deflated"),
    pytest.param("JPGLosslessP14SV1_1s_1f_8b.dcm", (1, 768, 1024), id="JPEG-lossless-SV1-8bit"),
    pytest.param("JPEG-LL.dcm", (1, 1024, 256), id="JPEG-lossless-SV1-16bit"),
    pytest.param("JPEGLSNearLossless_08.dcm", (1, 45, 10), id="JPEG-LS-near-lossless-8bit"),
    pytest.param("JPEGLSNearLossless_16.dcm", (1, 50, 10), id="JPEG-LS-near-lossless-16bit"),
    pytest.param("JPEG2000.dcm", (1, 1024, 256), id="J2K-lossy-NM"),
    pytest.param("GDCMJ2K_TextGBR.dcm", (1, 400, 400, 3), id="J2K-YBR_RCT-text"),
    pytest.param("ExplVR_BigEnd.dcm", (1, 60, 80, 3), id="big-endian-US-RGB"),
    pytest.param("color3d_jpeg_baseline.dcm", (120, 480, 640, 3), id="JPEG-baseline-cine-120"),
]

ALL_SYNTAXES = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
}


@pytest.mark.parametrize(("name", "reference"), LOSSLESS)
def test_lossless_equals_the_original(name: str, reference: str) -> None:
    decoded, expected = decode_frames(load(name)), decode_frames(load(reference))
    assert decoded.dtype == expected.dtype
    np.testing.assert_array_equal(decoded, expected)


@pytest.mark.parametrize(("name", "reference", "max_error"), LOSSY_REFERENCE)
def test_lossy_matches_the_reference_decompression(name: str, reference: str, max_error: int) -> None:
    decoded, expected = decode_frames(load(name)), decode_frames(load(reference))
    assert decoded.shape == expected.shape
    assert np.abs(decoded.astype(float) - expected.astype(float)).max() <= max_error


@pytest.mark.parametrize(("name", "original", "tolerance"), LOSSY_ORIGINAL)
def test_lossy_is_close_to_the_original(name: str, original: str, tolerance: float) -> None:
    decoded, expected = decode_frames(load(name)).astype(float), decode_frames(load(original)).astype(float)
    assert decoded.shape == expected.shape
    value_range = expected.max() - expected.min()
    assert np.abs(decoded - expected).mean() <= tolerance * value_range


@pytest.mark.parametrize(("name", "shape"), DECODE_ONLY)
def test_decodes_to_the_announced_shape(name: str, shape: tuple[int, ...]) -> None:
    decoded = decode_frames(load(name))
    assert decoded.shape == shape
    assert decoded.dtype == (np.uint8 if len(shape) == 4 else np.float32)
    assert decoded.max() > decoded.min()


def test_tables_cover_every_transfer_syntax() -> None:
    names = [p.values[0] for p in LOSSLESS + LOSSY_REFERENCE + LOSSY_ORIGINAL + DECODE_ONLY]
    covered = {str(load(name).file_meta.TransferSyntaxUID) for name in names}
    assert covered >= ALL_SYNTAXES, [UID(s).name for s in ALL_SYNTAXES - covered]


def test_deflated_matches_the_stored_values() -> None:
    ds = load("image_dfl.dcm")
    np.testing.assert_array_equal(decode_frames(ds)[0], ds.pixel_array.astype(np.float32))


# --- photometric interpretations -------------------------------------------------------------


def test_monochrome1_keeps_stored_values_and_is_flagged() -> None:
    ds = load("RG1_UNCR.dcm")
    volume = volume_from_datasets([ds])
    np.testing.assert_array_equal(volume.pixels[0], ds.pixel_array.astype(np.float32))
    assert volume.photometric == "MONOCHROME1"
    assert volume.kind == "image"


def test_rgb_colour_bars() -> None:
    frame = decode_frames(load("SC_rgb.dcm"))[0]
    expected = [
        (255, 0, 0),
        (255, 128, 128),
        (0, 255, 0),
        (128, 255, 128),
        (0, 0, 255),
        (128, 128, 255),
        (0, 0, 0),
        (64, 64, 64),
        (192, 192, 192),
        (255, 255, 255),
    ]
    assert [tuple(int(v) for v in frame[row, 50]) for row in range(5, 100, 10)] == expected


@pytest.mark.parametrize("name", ["SC_ybr_full_uncompressed.dcm", "SC_ybr_full_422_uncompressed.dcm"])
def test_ybr_is_converted_to_rgb(name: str) -> None:
    decoded, rgb = decode_frames(load(name)).astype(int), decode_frames(load("SC_rgb.dcm")).astype(int)
    assert decoded.shape == rgb.shape == (1, 100, 100, 3)
    assert np.abs(decoded - rgb).max() <= 6  # YCbCr rounding of the stored file


def test_fast_ybr_conversion_agrees_with_pydicom() -> None:
    """To the level, except on the 28 (Y, Cb, Cr) inputs where pydicom is off the standard: G
    is an exact half there (Cb 78, Cr 178, Y 19 … 46), which T.871 rounds up and pydicom's
    float32 arithmetic rounds down (``test_colour_pipeline`` checks all 2^24 inputs against the
    standard itself)."""
    ds = load("examples_ybr_color.dcm")
    stored = get_decoder(ds.file_meta.TransferSyntaxUID).as_array(ds, as_rgb=False)[0]
    ours, theirs = decode_frames(ds).reshape(stored.shape), ds.pixel_array
    y, cb, cr = (stored[..., k] for k in range(3))
    agree = ~((cb == 78) & (cr == 178) & (y >= 19) & (y <= 46))
    np.testing.assert_array_equal(ours[agree], theirs[agree])


def test_palette_colour_is_looked_up() -> None:
    ds = load("SC_rgb.dcm")
    ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.Rows, ds.Columns = "PALETTE COLOR", 1, 2, 2
    del ds.PlanarConfiguration
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes([0, 1, 2, 1])
    for colour, values in zip(
        ("Red", "Green", "Blue"), ([0, 65535, 32768], [0, 0, 65535], [65535, 0, 0]), strict=True
    ):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [3, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", np.array(values, "<u2").tobytes())
    decoded = decode_frames(ds)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded[0], [[[0, 0, 255], [255, 0, 0]], [[128, 255, 0], [255, 0, 0]]])


def test_palette_with_8_bit_entries_in_16_bit_words() -> None:
    """8-bit entries in 16-bit words (some writers do it; PS3.3 C.7.6.3.1.5 notes it): the
    descriptor's bit count (8) says so, and the entries show as they are, not as the high byte
    of a 16-bit value (black)."""
    ds = load("OBXXXX1A.dcm")
    entries = []
    for colour in ("Red", "Green", "Blue"):
        words = np.frombuffer(ds[f"{colour}PaletteColorLookupTableData"].value, "<u2")
        entries.append((words >> 8).astype(np.uint8))
        ds[f"{colour}PaletteColorLookupTableData"].value = entries[-1].astype("<u2").tobytes()
        ds[f"{colour}PaletteColorLookupTableDescriptor"].value = [256, 0, 8]
    expected = np.stack([table[ds.pixel_array] for table in entries], -1)
    np.testing.assert_array_equal(decode_frames(ds)[0], expected)


def test_a_palette_with_an_alpha_table_shows_opaque_rgb() -> None:
    """The alpha table (PS3.3 C.7.9) is for blending; the viewer shows the colours."""
    ds = load("OBXXXX1A.dcm")
    plain = decode_frames(ds)
    ds.AlphaPaletteColorLookupTableDescriptor = list(ds.RedPaletteColorLookupTableDescriptor)
    ds.AlphaPaletteColorLookupTableData = ds.RedPaletteColorLookupTableData
    np.testing.assert_array_equal(decode_frames(ds), plain)
    assert volume_from_datasets([ds]).shape == (1, *plain.shape[1:])


def test_palette_colour_real_file() -> None:
    decoded = decode_frames(load("OBXXXX1A_2frame.dcm"))
    assert decoded.shape == (2, 600, 800, 3) and decoded.dtype == np.uint8
    assert decoded.max() == 254  # its top entry is 0xFF00: 65 280 · 255 / 65 535 = 254.0


# --- values ---------------------------------------------------------------------------------


def test_rescale_slope_and_intercept() -> None:
    ds = load("MR_small.dcm")
    raw = ds.pixel_array.astype(np.float32)
    ds.RescaleSlope, ds.RescaleIntercept = "2.5", "-100"
    np.testing.assert_array_equal(decode_frames(ds)[0], raw * 2.5 - 100)


def test_ct_rescale_gives_hounsfield_units() -> None:
    ds = load("CT_small.dcm")
    hu = decode_frames(ds)[0]
    np.testing.assert_array_equal(hu, ds.pixel_array.astype(np.float32) - 1024)
    assert hu.min() < -800  # air


def test_modality_lut_sequence() -> None:
    ds = load("mlut_18.dcm")
    np.testing.assert_array_equal(
        decode_frames(ds)[0], apply_modality_lut(ds.pixel_array, ds).astype(np.float32)
    )


def test_multi_frame_keeps_every_frame() -> None:
    ds = load("emri_small.dcm")
    decoded = decode_frames(ds)
    assert decoded.shape == (10, 64, 64)
    np.testing.assert_array_equal(decoded, ds.pixel_array.astype(np.float32))


def test_enhanced_ct_uses_functional_group_rescale() -> None:
    ds = load("eCT_Supplemental.dcm")
    assert "RescaleIntercept" not in ds
    np.testing.assert_array_equal(decode_frames(ds), ds.pixel_array.astype(np.float32) - 1024)


# --- bad input ------------------------------------------------------------------------------


def _ct() -> pydicom.Dataset:
    return load("CT_small.dcm")


def _truncated() -> pydicom.Dataset:
    ds = _ct()
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    return ds


def _no_pixels() -> pydicom.Dataset:
    ds = _ct()
    del ds.PixelData
    return ds


def _unsupported() -> pydicom.Dataset:
    ds = _ct()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2
    return ds


def _no_syntax() -> pydicom.Dataset:
    ds = _ct()
    del ds.file_meta.TransferSyntaxUID
    return ds


def _fewer_frames(name: str, keep: int, *, bot: bool) -> pydicom.Dataset:
    """A multi-frame file whose encapsulated data holds only its first ``keep`` frames."""
    ds = load(name)
    frames = list(generate_frames(ds.PixelData, number_of_frames=ds.NumberOfFrames))
    ds.PixelData = encapsulate(frames[:keep], has_bot=bot)
    return ds


def _cut_after_fragment(name: str, keep: int) -> pydicom.Dataset:
    """Cut between two fragment items, the offset table still naming every frame (a transfer
    that stopped there, closed by a sequence delimiter)."""
    ds = load(name)
    _, items = parse_fragments(ds.PixelData)
    ds.PixelData = ds.PixelData[: items[keep + 1]]
    return ds


def _last_frame_cut(name: str) -> pydicom.Dataset:
    ds = load(name)
    frames = list(generate_frames(ds.PixelData, number_of_frames=ds.NumberOfFrames))
    frames[-1] = frames[-1][: len(frames[-1]) // 2]
    ds.PixelData = encapsulate(frames, has_bot=True)
    return ds


def _rescaled(slope: str) -> pydicom.Dataset:
    ds = _ct()
    ds.RescaleSlope = slope
    return ds


def _rescale_past_float32() -> pydicom.Dataset:
    """Slope and intercept each finite, their result for these pixels not."""
    ds = _ct()
    ds.RescaleSlope = "1e37"
    ds.RescaleIntercept = "3.3e38"
    return ds


BAD = [
    pytest.param(_truncated, "truncated pixel data", id="truncated"),
    pytest.param(lambda: _rescaled("1e39"), "not finite numbers after the modality rescale",
                 id="slope-beyond-float32"),
    pytest.param(lambda: _rescaled("inf"), "not finite numbers after the modality rescale",
                 id="slope-infinite",
                 marks=pytest.mark.filterwarnings("ignore:Invalid value for VR DS")),
    pytest.param(_rescale_past_float32, "not finite numbers after the modality rescale",
                 id="intercept-overflows"),
    pytest.param(lambda: _fewer_frames("emri_small_jpeg_2k_lossless.dcm", 6, bot=False),
                 "truncated pixel data: 6 of 10 frames", id="j2k-frames-missing"),
    pytest.param(lambda: _fewer_frames("color3d_jpeg_baseline.dcm", 100, bot=False),
                 "truncated pixel data: 100 of 120 frames", id="jpeg-frames-missing"),
    pytest.param(lambda: _fewer_frames("emri_small_jpeg_ls_lossless.dcm", 9, bot=True),
                 "truncated pixel data: 9 of 10 frames", id="jpeg-ls-frames-missing-with-table"),
    pytest.param(lambda: _cut_after_fragment("emri_small_RLE.dcm", 4),
                 "truncated pixel data: 4 of 10 frames", id="rle-cut-offset-table-names-all"),
    pytest.param(lambda: _last_frame_cut("emri_small_RLE.dcm"), "cannot decode pixel data (RLE",
                 id="rle-last-frame-cut"),
    pytest.param(lambda: load("MR_truncated.dcm"), "truncated pixel data", id="truncated-file"),
    pytest.param(_no_pixels, "no pixel data", id="no-pixel-data"),
    pytest.param(
        _unsupported, "unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2", id="unsupported"
    ),
    pytest.param(_no_syntax, "missing transfer syntax", id="no-transfer-syntax"),
    pytest.param(
        lambda: load("JPEG-lossy.dcm"), "cannot decode pixel data (JPEG Extended", id="corrupt-jpeg"
    ),
]


@pytest.mark.parametrize(("make", "reason"), BAD)
def test_bad_input_is_rejected_with_a_reason(make, reason: str) -> None:
    with pytest.raises(ImagingError, match=reason.replace("(", r"\(")):
        check_decodable(make())
    with pytest.raises(ImagingError, match=reason.replace("(", r"\(")):
        decode_frames(make())


@pytest.mark.parametrize(
    "name",
    ["CT_small.dcm", "US1_J2KR.dcm", "emri_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm",
     "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm", "color3d_jpeg_baseline.dcm",
     "SC_rgb_rle_2frame.dcm", "eCT_Supplemental.dcm"],
)
def test_good_files_pass_the_import_check(name: str) -> None:
    check_decodable(load(name))


def test_palette_without_lookup_table_is_a_clear_error() -> None:
    ds = load("OBXXXX1A.dcm")
    for colour in ("Red", "Green", "Blue"):
        delattr(ds, f"{colour}PaletteColorLookupTableDescriptor")
    with pytest.raises(ImagingError, match="cannot decode pixel data"):
        decode_frames(ds)
