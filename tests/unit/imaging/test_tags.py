"""The tag table: one row per element, file meta first, sequences indented, bulk data summarised."""

from __future__ import annotations

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence

from labelstack.imaging.tags import tag_rows
from tests.unit.imaging.conftest import load


def _dataset() -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.PatientID = "P-1"
    ds.StudyDescription = "x" * 64
    ds.ImageComments = "y" * 300
    item = pydicom.Dataset()
    item.CodeValue, item.CodeMeaning = "T-D3000", "Chest"
    ds.AnatomicRegionSequence = Sequence([item])
    ds.Rows, ds.Columns, ds.BitsAllocated = 2, 2, 8
    ds.PixelData = bytes(4)
    ds["PixelData"].VR = "OB"
    return ds


def test_rows_in_order_with_meta_first_and_sequences_indented() -> None:
    rows = tag_rows(_dataset())
    assert [(r["tag"], r["keyword"], r["vr"], r["depth"]) for r in rows] == [
        ("(0002,0010)", "TransferSyntaxUID", "UI", "0"),
        ("(0008,1030)", "StudyDescription", "LO", "0"),
        ("(0008,2218)", "AnatomicRegionSequence", "SQ", "0"),
        ("(0008,0100)", "CodeValue", "SH", "1"),
        ("(0008,0104)", "CodeMeaning", "LO", "1"),
        ("(0010,0020)", "PatientID", "LO", "0"),
        ("(0020,4000)", "ImageComments", "LT", "0"),
        ("(0028,0010)", "Rows", "US", "0"),
        ("(0028,0011)", "Columns", "US", "0"),
        ("(0028,0100)", "BitsAllocated", "US", "0"),
        ("(7FE0,0010)", "PixelData", "OB", "0"),
    ]


def test_values_are_text_with_bulk_data_and_long_text_summarised() -> None:
    values = {r["keyword"]: r["value"] for r in tag_rows(_dataset())}
    assert values["PatientID"] == "P-1" and values["Rows"] == "2"
    assert values["StudyDescription"] == "x" * 64
    assert values["ImageComments"] == "y" * 197 + "..."
    assert values["AnatomicRegionSequence"] == "<1 item(s)>"
    assert values["PixelData"] == "<4 bytes>"


def test_a_dataset_without_file_meta_lists_its_own_elements() -> None:
    ds = pydicom.Dataset()
    ds.PatientID = "P-2"
    assert [r["keyword"] for r in tag_rows(ds)] == ["PatientID"]


def test_a_real_file() -> None:
    rows = tag_rows(load("CT_small.dcm"))
    meta = [r for r in rows if r["tag"].startswith("(0002,")]
    assert meta and rows[: len(meta)] == meta
    by_keyword = {r["keyword"]: r for r in rows}
    assert by_keyword["Modality"]["value"] == "CT"
    assert by_keyword["PixelData"]["value"] == "<32768 bytes>"
    assert all(set(r) == {"tag", "keyword", "vr", "value", "depth"} for r in rows)
