"""Fixtures of the integration tests: the image services pointed at a private data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelstack.config import Settings
from labelstack.services.images import runtime as image_runtime


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    """Local-store settings; the images services use them for this test only."""
    value = Settings(data_dir=tmp_path / "data", database_url=db_url, volume_cache_mb=64)
    value.prepare_data_dir()
    image_runtime.configure(value)
    yield value
    image_runtime.configure(None)
