"""The door from bytes to a pydicom ``Dataset``: parse an upload, say why its pixels cannot be
shown. Services type their datasets with the ``Dataset`` re-exported here."""

from __future__ import annotations

import io
import re

from pydicom import Dataset, dcmread
from pydicom.datadict import keyword_for_tag
from pydicom.errors import InvalidDicomError

from labelstack.imaging.decode import check_decodable, decoder_failure, readable
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.frames import frame_infos

__all__ = ["INDEX_UIDS", "Dataset", "header_problem", "parse_dataset", "undisplayable"]

INDEX_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
ZIP_SIGNATURE = b"PK\x03\x04"  # a zip's first local file header


def parse_dataset(raw: bytes) -> Dataset:
    """The dataset, carrying the UIDs an index needs, or ImagingError with a reason to act on.

    The UIDs are only checked to be present and readable; what a valid one looks like is the
    stores' rule.
    """
    if raw.startswith(ZIP_SIGNATURE):
        raise ImagingError("a zip archive inside a zip archive: nested archives are not opened; "
                           "upload the inner zip itself")
    try:
        ds = dcmread(io.BytesIO(raw))
    except InvalidDicomError:
        raise ImagingError("not a DICOM file (no 'DICM' marker after the 128-byte preamble)") from None
    except Exception as exc:  # noqa: BLE001  (pydicom raises many types for broken files)
        raise ImagingError(f"corrupt DICOM file: {type(exc).__name__}: {exc}") from None
    for keyword in INDEX_UIDS:
        if not readable(ds, keyword):
            raise ImagingError(f"missing {keyword} (truncated or incomplete file?): cannot be indexed")
    return ds


def undisplayable(ds: Dataset) -> str | None:
    """Why the viewer could not show `ds`, if it could not: its geometry tags cannot be read,
    or its pixels do not decode (every frame of compressed data is tried) to finite values.
    What this lets through, the viewer displays."""
    try:
        frame_infos(ds, 0)
        check_decodable(ds)
    except ImagingError as exc:
        return str(exc)
    except BaseException as exc:
        if not decoder_failure(exc):  # KeyboardInterrupt, SystemExit: not the file's fault
            raise
        return header_problem(exc)
    return None


_TAG = re.compile(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)")


def header_problem(exc: BaseException) -> str:
    """The reason to report for an error pydicom raised reading a header value; it names
    the element when pydicom's message gives its tag."""
    found = _TAG.search(str(exc))
    keyword = keyword_for_tag(int(found[1] + found[2], 16)) if found else ""
    element = f"cannot read {keyword} ({found[1]},{found[2]}): " if found and keyword else ""
    return f"corrupt DICOM file: {element}{type(exc).__name__}: {exc}"
