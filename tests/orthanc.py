"""A real, private Orthanc with its DICOMweb plugin: loopback, a free port, its own storage.

Used by the DICOMweb tests and by `benchmarks/bench_orthanc.py`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import stop, wait_until_answering

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


@dataclass(frozen=True, slots=True)
class Orthanc:
    url: str  # the REST root, e.g. http://127.0.0.1:8042

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"


def unavailable() -> str | None:
    """Why Orthanc cannot be started here, or None when it can."""
    if shutil.which("Orthanc") is None:
        return "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
    if not PLUGIN.exists():
        return f"the Orthanc DICOMweb plugin is missing ({PLUGIN}; apt-get install orthanc-dicomweb)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_orthanc(workdir: Path, **settings: object) -> Iterator[Orthanc]:
    """Start Orthanc with storage under `workdir` (and any further configuration `settings`);
    stop it on exit."""
    port = free_port()
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "labelstack-test", "StorageDirectory": str(storage),
        "IndexDirectory": str(storage), "HttpPort": port, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "HttpCompressionEnabled": False,
        "DicomServerEnabled": False, "DicomPort": free_port(), "SaveJobs": False,
        "Plugins": [str(PLUGIN)], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        **settings,
    }
    config_path = workdir / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = (workdir / "orthanc.log").open("wb")
    process = subprocess.Popen(["Orthanc", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/dicom-web/studies", process, workdir / "orthanc.log",
                             name="Orthanc", timeout=30, interval=0.1)
        yield Orthanc(url=url)
    finally:
        stop(process, timeout=15)
        log.close()
