"""A store key names a file inside the store, never outside it: keys come from the index,
which another process (or a restored backup) may have written."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelstack.stores import LocalStore, StoreError


@pytest.mark.parametrize("key", ["../secret.key", "a/../../b.dcm", "/etc/passwd", "", "a/b/.."])
def test_a_key_that_leaves_the_store_is_refused(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "dicom")
    with pytest.raises(StoreError, match="leaves the store"):
        store.path(key)


def test_a_key_names_its_file_under_the_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "dicom")
    assert store.path("1.2/3.4/5.6.dcm") == (tmp_path / "dicom" / "1.2" / "3.4" / "5.6.dcm").resolve()
