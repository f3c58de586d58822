"""A server the tests (or benchmarks) started in a subprocess: waiting for it to answer, and
stopping it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_until_answering(url: str, process: subprocess.Popen, log: Path, *, name: str,
                         timeout: float, interval: float = 0.2) -> None:
    """Until GET `url` answers 200; a process that exits or never answers fails with the end of
    its log, which is what says why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"{name} did not answer at {url} within {timeout:g} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


def stop(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL when it has not exited within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
