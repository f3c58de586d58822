"""The one interface every image source implements, and the index record it yields.

Stores hold DICOM bytes; they know nothing about the database. The index (study →
series → instance) is built by `services/images.py` from the `IndexEntry`s a store
describes, so local files and a PACS are searched the same way.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from pydicom import Dataset
from pydicom.valuerep import DA

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
Progress = Callable[[int], None]  # told how many instances a read has so far


def check_uid(uid: str, what: str) -> str:
    """UIDs become path parts, file names and store keys, so anything but digits and dots
    (or longer than 64 characters) is refused with ValueError."""
    if not (0 < len(uid) <= 64 and _UID.match(uid)):
        raise ValueError(f"{what} {uid!r} is not a valid DICOM UID")
    return uid


@dataclass(kw_only=True, slots=True)
class IndexEntry:
    """What the index keeps about one instance, flattened over study/series/instance."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    study_date: date | None = None
    study_description: str = ""
    accession_number: str = ""
    series_uid: str
    modality: str = ""
    body_part: str = ""
    series_description: str = ""
    series_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    sop_instance_uid: str
    sop_class_uid: str = ""
    transfer_syntax_uid: str = ""
    instance_number: int | None = None
    number_of_frames: int = 1
    store_key: str
    file_size: int = 0

    @classmethod
    def of(cls, ds: Dataset, *, store_key: str, file_size: int = 0) -> IndexEntry:
        """Read the indexed tags of `ds` (header only; pixel data is not touched). Missing
        UIDs come back empty: the caller validates them (`check_uid`)."""
        meta = getattr(ds, "file_meta", None)
        syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
        return cls(
            study_uid=str(ds.get("StudyInstanceUID", "")),
            series_uid=str(ds.get("SeriesInstanceUID", "")),
            sop_instance_uid=str(ds.get("SOPInstanceUID", "")), store_key=store_key,
            file_size=file_size,
            patient_id=_text(ds, "PatientID", 64), patient_name=_text(ds, "PatientName", 200),
            study_date=_date(ds.get("StudyDate")),
            study_description=_text(ds, "StudyDescription", 200),
            accession_number=_text(ds, "AccessionNumber", 64),
            modality=_text(ds, "Modality", 16), body_part=_text(ds, "BodyPartExamined", 64),
            series_description=_text(ds, "SeriesDescription", 200),
            series_number=_int(ds.get("SeriesNumber")), rows=_int(ds.get("Rows")),
            columns=_int(ds.get("Columns")), sop_class_uid=_text(ds, "SOPClassUID", 64),
            transfer_syntax_uid=syntax or _text(ds, "TransferSyntaxUID", 64),
            instance_number=_int(ds.get("InstanceNumber")),
            number_of_frames=_int(ds.get("NumberOfFrames")) or 1,
        )


@dataclass(kw_only=True, slots=True)
class SeriesSummary:
    """One series as a store lists it: enough to decide whether the index is stale."""

    study_uid: str
    series_uid: str
    number_of_instances: int


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, refused, missing file)."""


class ImageStore(ABC):
    """Where instances live. `store_key` is the store's own address of one instance."""

    name: str

    @abstractmethod
    def put(self, ds: Dataset, raw: bytes) -> str:
        """Store one validated instance; returns its store key. Idempotent."""

    @abstractmethod
    def remove(self, store_key: str) -> None:
        """Undo a `put` whose indexing failed."""

    @abstractmethod
    def read(self, store_keys: Sequence[str], progress: Progress | None = None) -> list[Dataset]:
        """The full datasets (with pixel data) of these instances, in the same order;
        `progress(n)` hears of each one read (in any order, from any thread)."""

    @abstractmethod
    def read_headers(self, store_keys: Sequence[str]) -> list[Dataset]:
        """The datasets of these instances without pixel data, in the same order."""

    def read_frame(self, store_key: str, frame: int, length: int, *, offset: int | None = None,
                   file_size: int | None = None) -> tuple[bytes, str | None] | None:
        """The `length` stored bytes of uncompressed frame `frame` (from 0) of one instance,
        and their transfer syntax when not the stored one; a file store is told where the
        pixel data's value starts (`offset`) in a file of `file_size` bytes, as its header
        read noted. None when this store cannot read that frame alone (then read the
        instance)."""
        return None

    @abstractmethod
    def list_series(self) -> Iterator[SeriesSummary]:
        """Every series the store holds (for syncing the index)."""

    @abstractmethod
    def describe_series(self, study_uid: str, series_uid: str) -> list[IndexEntry]:
        """Index entries of every instance of one series, without reading pixels."""


def _text(ds: Dataset, keyword: str, limit: int) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()[:limit]


def _int(value: object) -> int | None:
    try:
        # A DICOM value (IS, DS, str, ...) of no declared type; int() rejects the odd ones.
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _date(value: object) -> date | None:
    if not value:
        return None
    try:
        parsed = DA(str(value))
    except ValueError:
        return None
    return date(parsed.year, parsed.month, parsed.day) if parsed else None
