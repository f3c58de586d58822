"""The 3D scene off-screen (EGL, no GPU): a label's surface shows in its colour, follows a
changed mask, the slice planes move, and clicking the surface names a voxel inside it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from labelstack.imaging.phantom import phantom_ct
from labelstack.view3d.geometry import mask_box
from labelstack.view3d.presets import CT_PRESETS
from labelstack.view3d.spec import LabelSpec, ViewSpec

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
from labelstack.view3d.scene import Scene  # noqa: E402  (after the window choice)

SHAPE = (24, 96, 96)
SPACING = (2.0, 1.0, 1.0)


def magenta(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r > 120) & (b > 120) & (g < 0.6 * np.minimum(r, b))


def red_rows(rgb: np.ndarray) -> float:
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return float(np.median(np.nonzero((r > 170) & (g < 0.55 * r) & (b < 0.55 * r))[0]))


@pytest.fixture
def files(tmp_path: Path) -> tuple[ViewSpec, np.memmap]:
    np.save(tmp_path / "volume.npy", phantom_ct(SHAPE, seed=None).astype(np.float32))
    mask = np.lib.format.open_memmap(tmp_path / "label-1.npy", mode="w+", dtype=np.uint8, shape=SHAPE)
    mask[8:16, 30:50, 20:40] = 1
    spec = ViewSpec(volume=str(tmp_path / "volume.npy"), shape=SHAPE, spacing=SPACING,
                    origin=(-48.0, -48.0, 0.0), orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
                    modality="CT", labels_dir=str(tmp_path),
                    labels=[LabelSpec(id=1, color="#ff00ff", box=mask_box(mask))], slices=(12, None, None),
                    size=(320, 240))
    return spec, mask


def frame(scene: Scene) -> np.ndarray:
    scene.render()
    return scene.screenshot()


def test_surfaces_planes_and_picking(files: tuple[ViewSpec, np.memmap]) -> None:
    spec, mask = files
    scene = Scene(spec, np.load(spec.volume, mmap_mode="r"))
    scene.set_preset(CT_PRESETS[1])
    first = frame(scene)
    assert magenta(first).sum() > 100

    mask[8:16, 60:80, 60:80] = 1  # a second block, to the patient's left
    scene.update_mask(1, (8, 60, 60, 16, 80, 80))
    second = frame(scene)
    assert (magenta(second) & ~magenta(first)).sum() > 100

    scene.set_labels([LabelSpec(id=1, color="#ff00ff", visible=False)])
    assert magenta(frame(scene)).sum() == 0
    scene.set_labels([LabelSpec(id=1, color="#ff00ff")])

    low = red_rows(frame(scene))
    scene.set_slices((20, None, None))
    assert red_rows(frame(scene)) < low - 10  # higher up the patient: higher in the image

    ys, xs = np.nonzero(magenta(frame(scene)))
    h = scene.window.GetSize()[1]
    picked = scene.pick(int(np.median(xs)), h - 1 - int(np.median(ys)))
    assert picked is not None
    z, y, x = picked
    assert mask[max(z - 1, 0):z + 2, max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].any()

