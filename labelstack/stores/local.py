"""The embedded default: DICOM files under `<data_dir>/dicom/<study>/<series>/<sop>.dcm`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from labelstack.stores.base import (
    ImageStore,
    IndexEntry,
    Progress,
    SeriesSummary,
    StoreError,
    check_uid,
)

DEFERRED_BYTES = 4096  # a header read leaves longer values (pixel data) in the file


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
        """Values over `DEFERRED_BYTES` (the pixel data) are left unread: pydicom then
        notes where they lie in the file, which `read_frame` reads from."""
        return [self._read(key, pixels=False) for key in store_keys]

    def _read(self, key: str, *, pixels: bool) -> Dataset:
        try:
            return dcmread(self.path(key), defer_size=None if pixels else DEFERRED_BYTES)
        except (OSError, InvalidDicomError) as exc:
            raise StoreError(f"cannot read {key} from the local store: {exc}") from exc

    def read_frame(self, store_key: str, frame: int, offset: int | None,
                   length: int) -> tuple[bytes, str | None] | None:
        if offset is None:
            return None
        try:  # one pread: no buffered file object for a single read
            fd = os.open(self.path(store_key), os.O_RDONLY)
            try:
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
