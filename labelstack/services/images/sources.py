"""What an import reads: files, folders (recursively) and zip archives, as named byte sources.

Zip members are read one at a time, streamed to a spooled temporary file (in memory up to
`SPOOL_MEMORY`, then on disk) while their bytes are counted, so neither a large archive nor
a zip bomb ever sits in memory whole: a member larger than LABELSTACK_MAX_ZIP_MEMBER_MB, or
inflating to more than LABELSTACK_MAX_ZIP_RATIO times its compressed size, is refused before
its bytes are kept, by its declared size first and by the bytes that really come out while
it streams (headers can lie). A member the archive cannot give back intact (bad CRC, broken
compressed data, encrypted, an unknown compression method, cut short) is refused with the
reason; the other members are read as usual.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from labelstack.services.images import runtime

CHUNK = 1 << 20  # bytes inflated per step
SPOOL_MEMORY = 8 << 20  # a member up to this size is spooled in memory, a larger one on disk
RATIO_FLOOR = 16 << 20  # members up to this size may compress any amount (a blank image does)


class SourceError(ValueError):
    """A candidate that cannot be read as a file; the message (for the import report) says why."""


@dataclass(frozen=True, slots=True)
class MemberLimits:
    """How large one zip member may inflate: at most `max_bytes`, and (past `RATIO_FLOOR`)
    at most `max_ratio` times its compressed size."""

    max_bytes: int
    max_ratio: float

    @classmethod
    def configured(cls) -> MemberLimits:
        settings = runtime.current_settings()
        return cls(max_bytes=settings.max_zip_member_mb << 20, max_ratio=settings.max_zip_ratio)

    def allowed(self, compressed: int) -> int:
        """The most bytes a member of `compressed` bytes may inflate to."""
        return min(self.max_bytes, max(RATIO_FLOOR, int(self.max_ratio * max(compressed, 1))))

    def refusal(self, name: str, size: int, compressed: int) -> str:
        """Why `size` inflated bytes are too many for this member (the caller checked they are)."""
        if size > self.max_bytes:
            return (f"zip member {name} holds more than {self.max_bytes >> 20} MB uncompressed "
                    "(LABELSTACK_MAX_ZIP_MEMBER_MB): not stored")
        return (f"zip member {name} inflates more than {self.max_ratio:g} times its "
                f"{compressed} compressed bytes (LABELSTACK_MAX_ZIP_RATIO): refused as a "
                "possible zip bomb")


@dataclass(frozen=True, slots=True)
class Source:
    """One candidate file: `name` appears in the report, `read` yields its bytes (or raises
    OSError or ValueError, `SourceError` among them, with the reason)."""

    name: str
    read: Callable[[], bytes]


def unreadable(name: str, reason: str) -> Source:
    """A candidate that could not even be opened; importing it reports `reason`."""

    def fail() -> bytes:
        raise OSError(reason)

    return Source(name, fail)


def sources_from_paths(paths: Iterable[Path], *, limits: MemberLimits | None = None) -> Iterator[Source]:
    """Files as they are, folders recursively (hidden files skipped), zips member by member."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield from _file_sources(child, limits)
        elif path.is_file():
            yield from _file_sources(path, limits)
        else:
            yield unreadable(str(path), "no such file or directory")


def sources_from_upload(name: str, file: BinaryIO, *,
                        limits: MemberLimits | None = None) -> Iterator[Source]:
    """An uploaded file as a seekable file object (spooled to disk by the web server): a zip
    is opened member by member, anything else is read when its turn comes, so one upload
    never sits in memory whole."""
    head = file.read(4)
    file.seek(0)
    if _is_zip(name, head):
        yield from _zip_sources(name, lambda: zipfile.ZipFile(file), limits)
    else:
        yield Source(name, lambda: _read_all(file))


def copy_bounded(member: IO[bytes], out: IO[bytes], *, name: str, compressed: int,
                 limits: MemberLimits) -> int:
    """Copy an opened zip member to `out` in `CHUNK` steps; SourceError once more bytes come
    out than `limits` allow (at most one chunk beyond the bound is written). Returns the size."""
    allowed = limits.allowed(compressed)
    size = 0
    while chunk := member.read(min(CHUNK, allowed + 1 - size)):
        size += len(chunk)
        if size > allowed:
            raise SourceError(limits.refusal(name, size, compressed))
        out.write(chunk)
    return size


def _read_all(file: BinaryIO) -> bytes:
    file.seek(0)
    return file.read()


def _file_sources(path: Path, limits: MemberLimits | None) -> Iterator[Source]:
    with path.open("rb") as f:
        head = f.read(4)
    if _is_zip(path.name, head):
        yield from _zip_sources(str(path), lambda: zipfile.ZipFile(path), limits)
    else:
        yield Source(str(path), path.read_bytes)


def _is_zip(name: str, head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or (name.lower().endswith(".zip") and head[:2] == b"PK")


def _zip_sources(name: str, open_zip: Callable[[], zipfile.ZipFile],
                 limits: MemberLimits | None) -> Iterator[Source]:
    try:
        archive = open_zip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield unreadable(name, f"not a readable zip archive: {exc}")
        return
    bounds = limits or MemberLimits.configured()
    with archive:
        for info in archive.infolist():
            member = info.filename
            if info.is_dir() or member.startswith("__MACOSX/") or Path(member).name.startswith("."):
                continue
            yield Source(f"{name}:{member}", _member_reader(archive, info, bounds))


def _member_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                   limits: MemberLimits) -> Callable[[], bytes]:
    def read() -> bytes:
        name = info.filename
        if info.file_size > limits.allowed(info.compress_size):
            raise SourceError(limits.refusal(name, info.file_size, info.compress_size))
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, prefix="labelstack-zip-") as spool:
            try:
                with archive.open(info) as member:
                    copy_bounded(member, spool, name=name, compressed=info.compress_size,
                                 limits=limits)
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001  (zipfile, zlib, bz2 and lzma raise many types)
                raise SourceError(f"corrupt zip member {name}: {_zip_reason(exc)}") from None
            spool.seek(0)
            return spool.read()

    return read


def _zip_reason(exc: Exception) -> str:
    if isinstance(exc, NotImplementedError):
        return f"{exc} (an unknown compression method)"
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return "the member is encrypted (a password-protected zip cannot be imported)"
    return f"{type(exc).__name__}: {exc}"

