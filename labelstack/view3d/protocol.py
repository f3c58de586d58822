"""The messages between the annotator's process and a 3D view process: one JSON object per
line, commands on the child's stdin, events on its stdout.

Commands: `labels` (colours and visibility of every label), `mask` (a label's voxels changed
inside `box`; the child rereads its memory-mapped file there), `slices` (the (z, y, x) voxel
planes the 2D views show), `stop`. Events: `ready` (listening on `port`), `point` (a surface
point was clicked: the voxel `zyx`).
"""

from __future__ import annotations

import json
from typing import Any

READY = "ready"
POINT = "point"
LABELS = "labels"
MASK = "mask"
SLICES = "slices"
STOP = "stop"


def encode(kind: str, **fields: Any) -> bytes:
    return (json.dumps({"type": kind, **fields}) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any] | None:
    """The message on one line; None for anything else (a library printing to stdout)."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) and isinstance(message.get("type"), str) else None
