"""Images fixtures: settings with a private data dir, a small generated CT series."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelstack.config import Settings
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.images import runtime as image_runtime
from tests.orthanc import Orthanc, running_orthanc, unavailable
from tests.services import missing

CT_SHAPE = (6, 40, 48)


@pytest.fixture
def admin(make_user):  # noqa: ANN001, ANN201
    """Views take the acting user: an admin may view every series."""
    return make_user("admin")


@pytest.fixture(scope="session")
def ct_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The clean phantom (no noise: air is exactly -1000 HU), files in slice order."""
    return write_ct_series(tmp_path_factory.mktemp("ct"), shape=CT_SHAPE, spacing=(2.5, 0.8, 0.8),
                           patient_id="CT-001", series_uid="1.2.826.0.1.3680043.8.498.1001",
                           seed=None)


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
