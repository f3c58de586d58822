"""What an export hands the API or the CLI: the bytes, their media type and a file name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExportFile:
    data: bytes
    media_type: str
    filename: str
