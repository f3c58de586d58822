"""Bytes → Dataset at the import door: every refusal names what is wrong."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from labelstack.imaging import ImagingError
from labelstack.imaging.dataset import parse_dataset, undisplayable
from labelstack.imaging.phantom import ct_datasets


def _raw(ds: pydicom.Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _slice() -> pydicom.Dataset:
    return ct_datasets(shape=(1, 8, 8), series_uid="1.2.826.0.1.3680043.8.498.5001")[0]


def _zip_of_a_slice() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("inner.dcm", _raw(_slice()))
    return buffer.getvalue()


def _without(keyword: str) -> bytes:
    ds = _slice()
    delattr(ds, keyword)
    return _raw(ds)


def test_a_good_file_parses() -> None:
    ds = parse_dataset(_raw(_slice()))
    assert str(ds.SeriesInstanceUID) == "1.2.826.0.1.3680043.8.498.5001"
    assert undisplayable(ds) is None


BAD_BYTES = [
    pytest.param(lambda: b"", "not a DICOM file", id="empty"),
    pytest.param(lambda: b"%PDF-1.4 not an image" * 20, "not a DICOM file", id="non-dicom"),
    pytest.param(lambda: _raw(_slice())[:300], "missing StudyInstanceUID (truncated or incomplete file?)",
                 id="truncated-header"),
    pytest.param(lambda: _without("SOPInstanceUID"), "missing SOPInstanceUID", id="no-sop-uid"),
    pytest.param(lambda: _without("SeriesInstanceUID"), "missing SeriesInstanceUID", id="no-series-uid"),
    pytest.param(_zip_of_a_slice, "a zip archive inside a zip archive", id="nested-zip"),
]


@pytest.mark.parametrize(("make", "reason"), BAD_BYTES)
def test_bad_bytes_are_refused_with_a_reason(make, reason: str) -> None:
    with pytest.raises(ImagingError, match="^" + re.escape(reason)):
        parse_dataset(make())


def test_a_refusal_is_a_value_error() -> None:
    """Callers that catch ValueError (the import report) see the same message."""
    with pytest.raises(ValueError, match="not a DICOM file"):
        parse_dataset(b"")


def _no_pixels() -> pydicom.Dataset:
    ds = _slice()
    del ds.PixelData
    return ds


def _short_pixels() -> pydicom.Dataset:
    ds = _slice()
    ds.PixelData = ds.PixelData[:-10]
    return ds


def _broken_header() -> pydicom.Dataset:
    """NumberOfFrames "x", as read from a file: pydicom fails on it in its own way."""
    ds = _slice()
    tag = Tag("NumberOfFrames")
    ds._dict[tag] = RawDataElement(tag, "IS", 2, b"x ", 0, False, True)
    return ds


UNDECODABLE = [
    pytest.param(_no_pixels, "no pixel data", id="no-pixel-data"),
    pytest.param(_short_pixels, "truncated pixel data", id="truncated-pixels"),
    pytest.param(_broken_header, "corrupt DICOM file: ", id="broken-header"),
]


@pytest.mark.filterwarnings("ignore:Invalid value for VR IS")
@pytest.mark.parametrize(("make", "reason"), UNDECODABLE)
def test_undisplayable_says_why(make, reason: str) -> None:
    why = undisplayable(make())
    assert why is not None and why.startswith(reason), why
