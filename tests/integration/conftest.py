"""Fixtures of the integration tests: the image services pointed at a private data dir, a
real Orthanc for the DICOMweb tests, and the zip bomb."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelstack.config import Settings
from labelstack.services.images import runtime as image_runtime
from tests.orthanc import Orthanc, running_orthanc, unavailable
from tests.services import missing, postgres_database


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    """Local-store settings; the images services use them for this test only."""
    value = Settings(data_dir=tmp_path / "data", database_url=db_url, volume_cache_mb=64)
    value.prepare_data_dir()
    image_runtime.configure(value)
    yield value
    image_runtime.configure(None)


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """One real Orthanc for the session (loopback, free port, private storage)."""
    reason = unavailable()
    if reason:
        missing(reason)
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture
def dicomweb_settings(orthanc: Orthanc, settings: Settings) -> Settings:
    """Settings pointing at an emptied Orthanc; imports go there."""
    for study in httpx.get(f"{orthanc.url}/studies").json():
        httpx.delete(f"{orthanc.url}/studies/{study}").raise_for_status()
    settings.dicomweb_url = orthanc.dicomweb_url
    image_runtime.configure(settings)
    return settings


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip bomb of the import tests and the fuzzer: a ~1 MiB zip holding one
    member of 1 GiB of zeros, written in 1 MiB steps."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("zeros.dcm", "w", force_zip64=True) as member:
        for _ in range(1024):
            member.write(chunk)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it yet, on each engine: a new SQLite file or a new
    PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with postgres_database() as url:
            yield url
