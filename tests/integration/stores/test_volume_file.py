"""The 3D view's volume file: the volume cache's own .npy when its disk tier holds the
series (no copy), else a copy in the view's scratch directory, which goes with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom import dcmread
from sqlmodel import Session

from labelstack.config import Settings
from labelstack.imaging.volume import volume_from_datasets
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.images.volume_file import volume_file

CT_UID = "1.2.826.0.1.3680043.8.498.1001"


def _import(session: Session, files: list[Path]) -> None:
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(files))


def _expected(files: list[Path]) -> np.ndarray:
    return np.asarray(volume_from_datasets([dcmread(p) for p in files]).pixels)


def test_the_cached_file_is_used_without_a_copy(session: Session, settings: Settings, admin,
                                                ct_files: list[Path], tmp_path: Path) -> None:
    _import(session, ct_files)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    path, volume = volume_file(session, actor=admin, series_uid=CT_UID, scratch=scratch)
    assert path.parent == settings.data_dir / "cache" / "volumes"
    assert list(scratch.iterdir()) == []
    np.testing.assert_array_equal(np.load(path, mmap_mode="r"), _expected(ct_files))
    assert volume.shape == np.load(path, mmap_mode="r").shape


def test_a_volume_the_disk_tier_cannot_hold_is_copied_into_the_scratch(
        session: Session, settings: Settings, admin, ct_files: list[Path], tmp_path: Path) -> None:
    settings.volume_disk_cache_mb = 0
    runtime.reset_cache()
    _import(session, ct_files)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    path, _ = volume_file(session, actor=admin, series_uid=CT_UID, scratch=scratch)
    assert path.parent == scratch
    np.testing.assert_array_equal(np.load(path), _expected(ct_files))
    assert not list((settings.data_dir / "cache" / "volumes").glob("*.npy"))
