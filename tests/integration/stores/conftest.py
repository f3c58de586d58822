"""Images fixtures: settings with a private data dir, a small generated CT series."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelstack.config import Settings
from labelstack.services import images
from labelstack.services.demo_images import write_ct_series

CT_SHAPE = (6, 40, 48)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    """Local-store settings; the images services use them for this test only."""
    value = Settings(data_dir=tmp_path / "data", database_url=db_url, volume_cache_mb=64)
    value.prepare_data_dir()
    images.configure(value)
    yield value
    images.configure(None)


@pytest.fixture(scope="session")
def ct_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_ct_series(tmp_path_factory.mktemp("ct"), shape=CT_SHAPE, patient_id="CT-001",
                           series_uid="1.2.826.0.1.3680043.8.498.1001")
