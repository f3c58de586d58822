"""The 3D view processes: one starts on a real volume and ends when told to, or once nobody has
been connected for the idle time; the bound gives a message that names the setting; a view that
cannot start says why and leaves nothing running or on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from labelstack.components.view3d_processes import Views, ViewsExhausted
from labelstack.config import load_settings
from labelstack.services.images import runtime
from labelstack.view3d.spec import ViewSpec
from tests.own_loop import in_own_loop


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    def configure(**settings: object) -> None:
        runtime.configure(load_settings(data_dir=tmp_path, **settings))

    configure(max_3d_views=1, view3d_idle_seconds=0.5)
    yield tmp_path
    runtime.configure(None)


def spec(tmp_path: Path, volume: Path) -> ViewSpec:
    directory = tmp_path / f"view-{volume.stem}"
    directory.mkdir()
    return ViewSpec(volume=str(volume), shape=(8, 16, 16), spacing=(2.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0),
                    orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), modality="MR", labels_dir=str(directory),
                    size=(64, 48))


@in_own_loop
async def test_a_view_starts_on_a_volume_file_and_stops_when_told(data_dir: Path) -> None:
    volume = data_dir / "volume.npy"
    np.save(volume, np.linspace(0, 500, 8 * 16 * 16, dtype=np.float32).reshape(8, 16, 16))
    views = Views()
    view = await views.start(spec(data_dir, volume), user_id=1, series_uid="1.2.3")
    assert view.running and views.get(view.view_id) is view

    with pytest.raises(ViewsExhausted, match="LABELSTACK_MAX_3D_VIEWS=1"):
        await views.start(spec(data_dir, data_dir / "other.npy"), user_id=1, series_uid="1.2.3")

    await views.stop(view.view_id)
    assert not view.running and views.get(view.view_id) is None
    assert not view.directory.exists()


@in_own_loop
async def test_a_view_nobody_is_connected_to_ends_after_the_idle_time(data_dir: Path) -> None:
    volume = data_dir / "volume.npy"
    np.save(volume, np.zeros((8, 16, 16), np.float32))
    views = Views()
    view = await views.start(spec(data_dir, volume), user_id=1, series_uid="1.2.3")
    view.connected()
    await asyncio.sleep(1.5)
    assert view.running  # a browser is connected
    view.disconnected()
    for _ in range(50):
        if not view.running:
            break
        await asyncio.sleep(0.2)
    assert not view.running and views.get(view.view_id) is None


@in_own_loop
async def test_a_view_that_cannot_start_says_why_and_leaves_nothing(data_dir: Path) -> None:
    views = Views()
    bad = spec(data_dir, data_dir / "missing.npy")
    with pytest.raises(RuntimeError, match="missing.npy"):
        await views.start(bad, user_id=1, series_uid="1.2.3")
    assert views.views == {}
    assert not Path(bad.labels_dir).exists()
