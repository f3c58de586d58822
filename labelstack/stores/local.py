"""The embedded default: DICOM files under `<data_dir>/dicom/<study>/<series>/<sop>.dcm`."""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from labelstack.imaging.stored import PIXEL_VALUE
from labelstack.stores.base import (
    ImageStore,
    IndexEntry,
    Progress,
    SeriesSummary,
    StoreError,
    check_uid,
)


class LocalStore(ImageStore):
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved = root.resolve()

    def key_for(self, ds: Dataset) -> str:
        parts = (check_uid(str(ds.StudyInstanceUID), "StudyInstanceUID"),
                 check_uid(str(ds.SeriesInstanceUID), "SeriesInstanceUID"),
                 check_uid(str(ds.SOPInstanceUID), "SOPInstanceUID"))
        return f"{parts[0]}/{parts[1]}/{parts[2]}.dcm"

    def path(self, store_key: str) -> Path:
        """The file of a key, refused when the key would leave the store. Checked on the
        key's own parts: every first slice of a series comes this way, and resolving the
        path costs a system call per folder. (A symbolic link placed inside the store is
        followed: only someone who may write the data dir can place one.)"""
        key = PurePosixPath(store_key)
        if not key.parts or key.is_absolute() or ".." in key.parts:
            raise StoreError(f"store key {store_key!r} leaves the store")
        return self._resolved / key

    def put(self, ds: Dataset, raw: bytes) -> str:
        """Write the original bytes atomically (temp file + rename): never a half file."""
        key = self.key_for(ds)
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(raw)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def remove(self, store_key: str) -> None:
        self.path(store_key).unlink(missing_ok=True)

    def read(self, store_keys: Sequence[str], progress: Progress | None = None) -> list[Dataset]:
        datasets = []
        for key in store_keys:
            datasets.append(self._read(key, pixels=True))
            if progress is not None:
                progress(len(datasets))
        return datasets

    def read_headers(self, store_keys: Sequence[str]) -> list[Dataset]:
        """Each header notes where its pixel data's value lies in the file
        (`imaging.stored.PIXEL_VALUE`), which `read_frame` reads from."""
        return [self._read(key, pixels=False) for key in store_keys]

    def _read(self, key: str, *, pixels: bool) -> Dataset:
        try:
            if pixels:
                return dcmread(self.path(key))
            return read_header(self.path(key))
        except (OSError, InvalidDicomError) as exc:
            raise StoreError(f"cannot read {key} from the local store: {exc}") from exc

    def read_frame(self, store_key: str, frame: int, length: int, *, offset: int | None = None,
                   file_size: int | None = None) -> tuple[bytes, str | None] | None:
        if offset is None:
            return None
        try:  # one pread: no buffered file object for a single read
            fd = os.open(self.path(store_key), os.O_RDONLY)
            try:
                if file_size is not None and os.fstat(fd).st_size != file_size:
                    return None  # not the file the header was read from
                data = os.pread(fd, length, offset + frame * length)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot read {store_key} from the local store: {exc}") from exc
        return (data, None) if len(data) == length else None

    def read_bytes(self, store_key: str) -> bytes:
        return self.path(store_key).read_bytes()

    def list_series(self) -> Iterator[SeriesSummary]:
        if not self.root.is_dir():
            return
        for study in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for series in sorted(p for p in study.iterdir() if p.is_dir()):
                count = sum(1 for _ in series.glob("*.dcm"))
                if count:
                    yield SeriesSummary(study_uid=study.name, series_uid=series.name,
                                        number_of_instances=count)

    def describe_series(self, study_uid: str, series_uid: str) -> list[IndexEntry]:
        folder = self.root / check_uid(study_uid, "study") / check_uid(series_uid, "series")
        entries = []
        for path in sorted(folder.glob("*.dcm")):
            ds = dcmread(path, stop_before_pixels=True)
            key = path.relative_to(self.root).as_posix()
            entries.append(IndexEntry.of(ds, store_key=key, file_size=path.stat().st_size))
        return entries


def read_header(path: Path) -> Dataset:
    """The dataset up to its pixel data, noting where the pixel data's value lies in the file
    and how long it is (`imaging.stored.PIXEL_VALUE`, with the file's size) when it is
    native: pydicom stops at the element's tag, and its header says the rest."""
    with path.open("rb") as file:
        ds = dcmread(file, stop_before_pixels=True)
        where = _pixel_value(file.read(12), file.tell() - 12, ds)
        if where is not None:
            setattr(ds, PIXEL_VALUE, (*where, os.fstat(file.fileno()).st_size))
    return ds


def _pixel_value(element: bytes, at: int, ds: Dataset) -> tuple[int, int] | None:
    """(offset, length) of the value of the Pixel Data element whose first bytes are
    `element`, at file offset `at`; None unless it is native pixel data of a defined length."""
    meta = getattr(ds, "file_meta", None)
    syntax = UID(str(meta.get("TransferSyntaxUID", ""))) if meta is not None else UID("")
    if not syntax or syntax.is_compressed or syntax.is_deflated or len(element) < 8:
        return None
    order = "<" if syntax.is_little_endian else ">"
    if struct.unpack(f"{order}HH", element[:4]) != (0x7FE0, 0x0010):
        return None
    if syntax.is_implicit_VR:
        offset, (length,) = at + 8, struct.unpack(f"{order}I", element[4:8])
    elif element[4:6] in (b"OB", b"OW") and len(element) == 12:
        offset, (length,) = at + 12, struct.unpack(f"{order}I", element[8:12])
    else:
        return None
    return None if length == 0xFFFFFFFF else (offset, length)
