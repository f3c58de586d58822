"""The door from bytes to a pydicom ``Dataset``: parse an upload, say why its pixels cannot be
shown. Services type their datasets with the ``Dataset`` re-exported here."""

from __future__ import annotations

import io

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from labelstack.imaging.decode import check_decodable
from labelstack.imaging.errors import ImagingError

__all__ = ["INDEX_UIDS", "Dataset", "parse_dataset", "undecodable"]

INDEX_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


def parse_dataset(raw: bytes) -> Dataset:
    """The dataset, carrying the UIDs an index needs, or ImagingError with a reason to act on.

    The UIDs are only checked to be present; what a valid one looks like is the stores' rule.
    """
    try:
        ds = dcmread(io.BytesIO(raw))
    except InvalidDicomError:
        raise ImagingError("not a DICOM file (no 'DICM' marker after the 128-byte preamble)") from None
    except Exception as exc:  # noqa: BLE001  (pydicom raises many types for broken files)
        raise ImagingError(f"corrupt DICOM file: {type(exc).__name__}: {exc}") from None
    for keyword in INDEX_UIDS:
        if not ds.get(keyword):
            raise ImagingError(f"missing {keyword} (truncated or incomplete file?): cannot be indexed")
    return ds


def undecodable(ds: Dataset) -> str | None:
    """Why the pixels of `ds` cannot be shown, if they cannot."""
    try:
        check_decodable(ds)
    except ImagingError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001  (a header pydicom cannot interpret)
        return f"corrupt DICOM file: {type(exc).__name__}: {exc}"
    return None
