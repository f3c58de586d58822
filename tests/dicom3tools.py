"""`dciodvfy` (Debian's dicom3tools): checks a DICOM file against its IOD. Used by the SEG tests,
which fail on any error it reports; a missing dciodvfy skips them locally and fails in CI."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.services import missing


def dciodvfy_errors(data: bytes) -> list[str]:
    """The error lines dciodvfy prints for these file bytes (warnings are left out)."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        missing("dciodvfy is not installed (apt-get install dicom3tools)")
        raise AssertionError("unreachable")  # missing() skips or fails
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seg.dcm"
        path.write_bytes(data)
        result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=120,
                                check=False)
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.startswith("Error")]
