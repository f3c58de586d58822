"""DICOM SEG round trips: masks → SEG → highdicom and back, on the geometry each source has, and
every SEG written passes dciodvfy without an error."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from labelstack.annotation.seg import (
    SegCorrupt,
    SegHeader,
    Segment,
    SegMismatch,
    SegUnsupported,
    build_seg,
    color_to_lab,
    encode_seg,
    lab_to_color,
    parse_seg,
    read_segments,
)
from labelstack.imaging.phantom import ct_datasets
from labelstack.imaging.volume import main_stack_frames, volume_from_datasets
from tests.dicom3tools import dciodvfy_errors

SHAPE = (6, 24, 20)
OBLIQUE = (0.866025, 0.5, 0.0, -0.204124, 0.353553, 0.912871)


def _header(**kw) -> SegHeader:
    values = dict(series_uid=hd.UID(), sop_uid=hd.UID(), series_description="Lung v2 accepted",
                  content_creator="Ann Author", content_description="Lung v2 by Ann Author")
    values.update(kw)
    return SegHeader(**values)


def _files(datasets: list[pydicom.Dataset]) -> list[pydicom.Dataset]:
    """As a store hands them over: read back from bytes."""
    out = []
    for ds in datasets:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(pydicom.dcmread(io.BytesIO(buffer.getvalue())))
    return out


def _shuffled(datasets: list[pydicom.Dataset], seed: int = 3) -> list[pydicom.Dataset]:
    order = np.random.default_rng(seed).permutation(len(datasets))
    return [datasets[int(i)] for i in order]


def _blob(shape: tuple[int, ...], z: slice, y: slice, x: slice) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[z, y, x] = True
    return mask


def _valid(seg: pydicom.Dataset) -> bytes:
    data = encode_seg(seg)
    assert dciodvfy_errors(data) == []
    return data


def _by_source_instance(seg: hd.seg.Segmentation, sources: list[pydicom.Dataset],
                        number: int) -> np.ndarray:
    """highdicom's own reading: the segment's pixels on each source instance, in z order."""
    uids = [str(sources[s].SOPInstanceUID) for s, _ in main_stack_frames(sources)]
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids,
                                               segment_numbers=[number])
    return pixels[..., 0].astype(bool)


@pytest.mark.parametrize("orientation", [(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), OBLIQUE],
                         ids=["axial", "oblique"])
def test_ct_round_trip_maps_each_frame_to_its_slice(orientation) -> None:
    sources = _shuffled(_files(ct_datasets(shape=SHAPE, orientation=orientation)))
    mask = _blob(SHAPE, slice(1, 4), slice(5, 12), slice(3, 9))
    mask[4, 0, 0] = True  # a lone voxel on another slice
    seg = build_seg(sources, [Segment(label="Lung", mask=mask, color="#33cc66",
                                      description="left lung, manual")], _header())
    back = parse_seg(_valid(seg))
    assert back.NumberOfFrames == 4  # slices 0 and 5 are empty: left out
    assert np.array_equal(_by_source_instance(back, sources, 1), mask)
    # each frame lies where its referenced source slice lies
    by_uid = {str(ds.SOPInstanceUID): ds for ds in sources}
    for frame in back.PerFrameFunctionalGroupsSequence:
        ref = frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        position = frame.PlanePositionSequence[0].ImagePositionPatient
        assert np.allclose([float(v) for v in position],
                           [float(v) for v in by_uid[ref].ImagePositionPatient], atol=1e-4)
    orientation_back = back.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]
    assert np.allclose([float(v) for v in orientation_back.ImageOrientationPatient], orientation,
                       atol=1e-5)
    (segment,) = read_segments(back, sources)
    assert (segment.number, segment.label, segment.description) == (1, "Lung", "left lung, manual")
    assert segment.color is not None and _close_colour(segment.color, "#33cc66")
    assert np.array_equal(segment.mask, mask) and segment.mask.dtype == np.bool_
    # the image read the same way puts the mask on the right pixels
    assert volume_from_datasets(sources).shape == mask.shape


def test_seg_records_label_colour_author_and_decision() -> None:
    sources = _files(ct_datasets(shape=SHAPE))
    mask = _blob(SHAPE, slice(2, 3), slice(2, 5), slice(2, 5))
    seg = parse_seg(_valid(build_seg(sources, [Segment(label="Lesion", mask=mask, color="#ff0000")],
                                     _header(series_description="Lesion v3 · accepted by Rev"))))
    item = seg.SegmentSequence[0]
    assert item.SegmentLabel == "Lesion" and item.SegmentAlgorithmType == "MANUAL"
    assert seg.SegmentationType == "BINARY"
    assert tuple(item.RecommendedDisplayCIELabValue) == color_to_lab("#ff0000").value
    assert seg.ContentCreatorName == "Ann Author"
    assert seg.SeriesDescription == "Lesion v3 · accepted by Rev"
    assert seg.SpecificCharacterSet == "ISO_IR 192"  # the middle dot is not ASCII
    assert seg.Modality == "SEG" and seg.StudyInstanceUID == sources[0].StudyInstanceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == sources[0].SeriesInstanceUID
    assert seg.FrameOfReferenceUID == sources[0].FrameOfReferenceUID


def test_overlapping_labels_stay_separate_segments() -> None:
    sources = _shuffled(_files(ct_datasets(shape=SHAPE)))
    a = _blob(SHAPE, slice(1, 4), slice(4, 14), slice(4, 14))
    b = _blob(SHAPE, slice(2, 5), slice(8, 18), slice(8, 18))
    assert (a & b).any()
    seg = parse_seg(_valid(build_seg(sources, [Segment(label="Liver", mask=a, color="#aa5500"),
                                               Segment(label="Tumour", mask=b, color="#00ff00")],
                                     _header())))
    assert seg.NumberOfFrames == 6  # 3 slices of each, the shared ones twice
    assert np.array_equal(_by_source_instance(seg, sources, 1), a)
    assert np.array_equal(_by_source_instance(seg, sources, 2), b)
    read = read_segments(seg, sources)
    assert [s.label for s in read] == ["Liver", "Tumour"]
    assert np.array_equal(read[0].mask, a) and np.array_equal(read[1].mask, b)


def test_single_radiograph_round_trip() -> None:
    cr = _load("RG3_UNCR.dcm")
    assert cr.Modality == "CR" and "FrameOfReferenceUID" not in cr
    shape = (1, int(cr.Rows), int(cr.Columns))
    mask = _blob(shape, slice(0, 1), slice(300, 900), slice(200, 700))
    seg = parse_seg(_valid(build_seg([cr], [Segment(label="Heart", mask=mask)], _header())))
    assert seg.NumberOfFrames == 1
    ref = seg.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0].SourceImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == cr.SOPInstanceUID
    assert np.array_equal(_by_source_instance(seg, [cr], 1), mask)
    (segment,) = read_segments(seg, [cr])
    assert np.array_equal(segment.mask, mask)


def test_multi_frame_source_is_referenced_by_frame() -> None:
    """An enhanced (multi-frame) CT whose frames run against the slice normal: mask slice z
    goes to the frame that lies there, and the SEG names that frame."""
    singles = ct_datasets(shape=SHAPE)
    for ds in singles:
        ds.PatientBirthDate, ds.PatientSex, ds.ReferringPhysicianName = "", "", ""
    multi = hd.legacy.LegacyConvertedEnhancedCTImage(
        singles[::-1], series_instance_uid=hd.UID(), series_number=2, sop_instance_uid=hd.UID(),
        instance_number=1)
    (multi,) = _files([multi])
    frames = main_stack_frames([multi])
    assert [f for _, f in frames] == [5, 4, 3, 2, 1, 0]
    mask = _blob(SHAPE, slice(0, 2), slice(3, 9), slice(3, 9))
    seg = parse_seg(_valid(build_seg([multi], [Segment(label="Lung", mask=mask)], _header())))
    refs = sorted(int(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber)
                  for f in seg.PerFrameFunctionalGroupsSequence)
    assert refs == [5, 6]  # z 0 and 1 are frames 6 and 5 (1-based)
    by_frame = seg.get_pixels_by_source_frame(source_sop_instance_uid=multi.SOPInstanceUID,
                                              source_frame_numbers=[f + 1 for _, f in frames],
                                              segment_numbers=[1])
    assert np.array_equal(by_frame[..., 0].astype(bool), mask)
    (segment,) = read_segments(seg, [multi])
    assert np.array_equal(segment.mask, mask)


def test_a_seg_without_source_references_is_placed_by_position() -> None:
    sources = _files(ct_datasets(shape=SHAPE, orientation=OBLIQUE))
    mask = _blob(SHAPE, slice(2, 5), slice(1, 6), slice(1, 6))
    seg = build_seg(sources, [Segment(label="Lung", mask=mask)], _header())
    for frame in seg.PerFrameFunctionalGroupsSequence:
        del frame.DerivationImageSequence
    (segment,) = read_segments(parse_seg(encode_seg(seg)), _shuffled(sources))
    assert np.array_equal(segment.mask, mask)


def test_empty_label_keeps_its_segment_without_frames() -> None:
    sources = _files(ct_datasets(shape=SHAPE))
    full = _blob(SHAPE, slice(0, 1), slice(0, 2), slice(0, 2))
    seg = parse_seg(_valid(build_seg(sources, [Segment(label="Seen", mask=full),
                                               Segment(label="Absent", mask=np.zeros(SHAPE, bool))],
                                     _header())))
    assert seg.NumberOfFrames == 1 and len(seg.SegmentSequence) == 2
    read = read_segments(seg, sources)
    assert np.array_equal(read[0].mask, full) and not read[1].mask.any()


def test_seg_of_another_series_or_frame_of_reference_is_refused() -> None:
    sources = _files(ct_datasets(shape=SHAPE))
    seg = parse_seg(encode_seg(build_seg(sources, [Segment(label="L", mask=_blob(
        SHAPE, slice(1, 2), slice(1, 3), slice(1, 3)))], _header())))
    other = _files(ct_datasets(shape=SHAPE))  # another series, another frame of reference
    with pytest.raises(SegMismatch, match="frame of reference"):
        read_segments(seg, other)
    same_frame = _files(ct_datasets(shape=SHAPE))
    for ds in same_frame:
        ds.FrameOfReferenceUID = sources[0].FrameOfReferenceUID
    with pytest.raises(SegMismatch, match="made on series"):
        read_segments(seg, same_frame)
    del seg.ReferencedSeriesSequence
    with pytest.raises(SegMismatch, match="not a slice of this image: it is in another series"):
        read_segments(seg, same_frame)
    smaller = _files(ct_datasets(shape=(6, 20, 20), series_uid=str(sources[0].SeriesInstanceUID)))
    with pytest.raises(SegMismatch, match="another pixel grid"):
        read_segments(seg, smaller)


def test_seg_on_instances_missing_from_the_image_is_refused() -> None:
    sources = _files(ct_datasets(shape=SHAPE))
    mask = _blob(SHAPE, slice(0, 6), slice(1, 3), slice(1, 3))
    seg = parse_seg(encode_seg(build_seg(sources, [Segment(label="L", mask=mask)], _header())))
    with pytest.raises(SegMismatch, match="not a slice of this image"):
        read_segments(seg, sources[1:])


@pytest.mark.parametrize("data,message", [
    (b"not dicom at all", "not a DICOM file"),
    (b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage", "not a DICOM SEG"),
], ids=["text", "broken-header"])
def test_corrupt_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SegCorrupt, match=message):
        parse_seg(data)


def test_an_image_or_truncated_seg_is_refused() -> None:
    sources = _files(ct_datasets(shape=SHAPE))
    buffer = io.BytesIO()
    sources[0].save_as(buffer, enforce_file_format=True)
    with pytest.raises(SegCorrupt, match="not a DICOM SEG: this file is CT Image Storage"):
        parse_seg(buffer.getvalue())
    data = encode_seg(build_seg(sources, [Segment(label="L", mask=_blob(
        SHAPE, slice(0, 6), slice(0, 20), slice(0, 20)))], _header()))
    with pytest.raises(SegCorrupt):
        read_segments(parse_seg(data[: len(data) - 200]), sources)


def test_cine_is_refused_plainly() -> None:
    cine = _load("OBXXXX1A_2frame.dcm")
    shape = (2, int(cine.Rows), int(cine.Columns))
    with pytest.raises(SegUnsupported, match="cine"):
        build_seg([cine], [Segment(label="L", mask=np.ones(shape, bool))], _header())


def test_mask_shape_must_match_the_image() -> None:
    sources = _files(ct_datasets(shape=SHAPE))
    with pytest.raises(ValueError, match="the image needs bool"):
        build_seg(sources, [Segment(label="L", mask=np.zeros((5, 24, 20), bool))], _header())


def test_colours_convert_both_ways() -> None:
    for colour in ("#ff0000", "#00ff00", "#123456", "#ffffff", "#000000"):
        assert _close_colour(lab_to_color(color_to_lab(colour).value) or "", colour)


def _close_colour(a: str, b: str) -> bool:
    return all(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) <= 2 for i in (1, 3, 5))


def _load(name: str) -> pydicom.Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is missing: install pydicom-data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(Path(path))
