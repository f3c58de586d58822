"""Images fixtures: settings with a private data dir, a small generated CT series."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelstack.imaging.phantom import write_ct_series

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
