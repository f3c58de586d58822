"""What an import reads: files, folders (recursively) and zip archives, as named byte sources.

Zip members are read one at a time, so a large archive never sits in memory whole.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

MAX_MEMBER_BYTES = 2 << 30  # one DICOM file above 2 GiB is not an image we can display


@dataclass(frozen=True, slots=True)
class Source:
    """One candidate file: `name` appears in the report, `read` yields its bytes."""

    name: str
    read: Callable[[], bytes]


def unreadable(name: str, reason: str) -> Source:
    """A candidate that could not even be opened; importing it reports `reason`."""

    def fail() -> bytes:
        raise OSError(reason)

    return Source(name, fail)


def sources_from_paths(paths: Iterable[Path]) -> Iterator[Source]:
    """Files as they are, folders recursively (hidden files skipped), zips member by member."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield from _file_sources(child)
        elif path.is_file():
            yield from _file_sources(path)
        else:
            yield unreadable(str(path), "no such file or directory")


def sources_from_upload(name: str, file: BinaryIO) -> Iterator[Source]:
    """An uploaded file as a seekable file object (spooled to disk by the web server): a zip
    is opened member by member, anything else is read when its turn comes, so one upload
    never sits in memory whole."""
    head = file.read(4)
    file.seek(0)
    if _is_zip(name, head):
        yield from _zip_sources(name, lambda: zipfile.ZipFile(file))
    else:
        yield Source(name, lambda: _read_all(file))


def _read_all(file: BinaryIO) -> bytes:
    file.seek(0)
    return file.read()


def _file_sources(path: Path) -> Iterator[Source]:
    with path.open("rb") as f:
        head = f.read(4)
    if _is_zip(path.name, head):
        yield from _zip_sources(str(path), lambda: zipfile.ZipFile(path))
    else:
        yield Source(str(path), path.read_bytes)


def _is_zip(name: str, head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or (name.lower().endswith(".zip") and head[:2] == b"PK")


def _zip_sources(name: str, open_zip: Callable[[], zipfile.ZipFile]) -> Iterator[Source]:
    try:
        archive = open_zip()
    except (zipfile.BadZipFile, OSError) as exc:
        yield unreadable(name, f"not a readable zip archive: {exc}")
        return
    with archive:
        for info in archive.infolist():
            member = info.filename
            if info.is_dir() or member.startswith("__MACOSX/") or Path(member).name.startswith("."):
                continue
            label = f"{name}:{member}"
            if info.file_size > MAX_MEMBER_BYTES:
                yield unreadable(label, f"member is {info.file_size} bytes, above the "
                                        f"{MAX_MEMBER_BYTES} byte limit")
                continue
            yield Source(label, partial(archive.read, info))
