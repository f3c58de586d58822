"""The 3D view on a 512×512×300 CT: first frame, frames while rotating, surface update after a
stroke, memory per view.

Baseline: VTK's own pipeline with the `fixed_point` ray cast mapper on the same data, the
usual way (the pixels deep-copied into a vtkImageData, default sampling), in a window of the
same size. Ours: `view3d.scene.Scene` (the memory-mapped .npy handed to VTK without a copy,
sampling that coarsens while dragging, plus label surface and slice planes). Each case runs in
a fresh process so its memory and first frame are its own; run with
``python -m benchmarks.bench_view3d [slices]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import print_table

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
SIZE = (800, 600)
DRAG_RATIO = 0.4  # as view3d.server.DRAG_RATIO
SPACING = (1.0, 0.7, 0.7)
ROTATION_FRAMES = 24


def main() -> None:
    slices = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    work = Path(tempfile.mkdtemp(prefix="bench-view3d-"))
    volume, labels = _write_data(work, slices)
    results = {case: _run(case, volume, labels) for case in ("baseline", "ours")}
    base, ours = results["baseline"], results["ours"]
    print(f"CT {512}x{512}x{slices} float32 ({(work / 'volume.npy').stat().st_size >> 20} MB), "
          f"window {SIZE[0]}x{SIZE[1]}, drag at {DRAG_RATIO:g} of it\n")
    print_table(
        ["pipeline", "first frame s", "still frame ms", "drag frame ms", "drag frames/s",
         "surface update ms", "private memory MB"],
        [["VTK fixed_point, deep copy (baseline)", base["first_s"], base["still_ms"], base["drag_ms"],
          1000 / base["drag_ms"], "–", base["anon_mb"]],
         ["view3d Scene (memmap, adaptive sampling)", ours["first_s"], ours["still_ms"], ours["drag_ms"],
          1000 / ours["drag_ms"], ours["surface_ms"], ours["anon_mb"]]])
    print(f"\nfirst frame: {ours['first_s'] / base['first_s']:.2f}x the baseline; "
          f"drag frame: {ours['drag_ms'] / base['drag_ms']:.2f}x")


def _write_data(work: Path, slices: int) -> tuple[Path, Path]:
    from labelstack.imaging.phantom import phantom_ct

    pixels = phantom_ct((slices, 512, 512), seed=1).astype(np.float32)
    np.save(work / "volume.npy", pixels)
    mask = np.lib.format.open_memmap(work / "label-1.npy", mode="w+", dtype=np.uint8,
                                     shape=pixels.shape)
    z, y, x = np.ogrid[:slices, :512, :512]
    mask[((z - slices / 2) * SPACING[0]) ** 2 + ((y - 230) * 0.7) ** 2 + ((x - 170) * 0.7) ** 2 < 35**2] = 1
    mask.flush()
    return work / "volume.npy", work


def _run(case: str, volume: Path, labels: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_view3d", "--case", case, str(volume),
                          str(labels)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _baseline(volume: Path) -> dict[str, float]:
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
    from vtkmodules.vtkRenderingCore import (
        vtkColorTransferFunction,
        vtkRenderer,
        vtkRenderWindow,
        vtkVolume,
        vtkVolumeProperty,
    )
    from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

    from labelstack.view3d.presets import CT_PRESETS

    before = _anon_mb()
    start = time.perf_counter()
    pixels = np.load(volume)
    image = vtkImageData()
    image.SetDimensions(pixels.shape[2], pixels.shape[1], pixels.shape[0])
    image.SetSpacing(SPACING[2], SPACING[1], SPACING[0])
    image.GetPointData().SetScalars(numpy_to_vtk(pixels.reshape(-1), deep=True))
    mapper = vtkFixedPointVolumeRayCastMapper()
    mapper.SetInputData(image)
    colour, alpha = vtkColorTransferFunction(), vtkPiecewiseFunction()
    for value, r, g, b, a in CT_PRESETS[1].points:
        colour.AddRGBPoint(value, r, g, b)
        alpha.AddPoint(value, a)
    prop = vtkVolumeProperty()
    prop.SetColor(colour)
    prop.SetScalarOpacity(alpha)
    prop.SetInterpolationTypeToLinear()
    actor = vtkVolume()
    actor.SetMapper(mapper)
    actor.SetProperty(prop)
    renderer = vtkRenderer()
    renderer.AddVolume(actor)
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(*SIZE)
    window.AddRenderer(renderer)
    renderer.ResetCamera()
    window.Render()
    first = time.perf_counter() - start
    still = _frame_ms(window, renderer, ROTATION_FRAMES // 4)
    window.SetSize(int(SIZE[0] * DRAG_RATIO), int(SIZE[1] * DRAG_RATIO))
    drag = _frame_ms(window, renderer, ROTATION_FRAMES)
    return {"first_s": first, "still_ms": still, "drag_ms": drag, "anon_mb": _anon_mb() - before}


def _ours(volume: Path, labels: Path) -> dict[str, float]:
    from labelstack.view3d.geometry import mask_box
    from labelstack.view3d.presets import CT_PRESETS
    from labelstack.view3d.scene import INTERACTIVE_RATE, Scene
    from labelstack.view3d.spec import LabelSpec, ViewSpec

    mask = np.load(labels / "label-1.npy", mmap_mode="r+")
    box = mask_box(mask)  # the annotator's process computes it and passes it in the spec
    before = _anon_mb()
    start = time.perf_counter()
    pixels = np.load(volume, mmap_mode="r")
    spec = ViewSpec(volume=str(volume), shape=pixels.shape, spacing=SPACING, origin=(0.0, 0.0, 0.0),
                    orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), modality="CT", labels_dir=str(labels),
                    labels=[LabelSpec(id=1, color="#ff00ff", box=box)],
                    slices=(pixels.shape[0] // 2, 256, 256), size=SIZE)
    scene = Scene(spec, pixels)
    scene.set_preset(CT_PRESETS[1])
    scene.render()
    first = time.perf_counter() - start
    still = _frame_ms(scene.window, scene.renderer, ROTATION_FRAMES // 4)
    scene.window.SetSize(int(SIZE[0] * DRAG_RATIO), int(SIZE[1] * DRAG_RATIO))
    scene.window.SetDesiredUpdateRate(INTERACTIVE_RATE)  # what the interactor sets while dragging
    drag = _frame_ms(scene.window, scene.renderer, ROTATION_FRAMES)
    scene.window.SetDesiredUpdateRate(0.0001)
    scene.window.SetSize(*SIZE)
    times = []
    for k in range(5):  # a brush stroke of 5 mm radius beside the label, then its surface again
        z0 = pixels.shape[0] // 2 - 4 + 2 * k
        mask[z0:z0 + 4, 200:214, 210:260] = 1
        t = time.perf_counter()
        scene.update_mask(1, (z0, 200, 210, z0 + 4, 214, 260))
        scene.render()
        times.append((time.perf_counter() - t) * 1000)
    return {"first_s": first, "still_ms": still, "drag_ms": drag, "surface_ms": float(np.median(times)),
            "anon_mb": _anon_mb() - before}


def _frame_ms(window, renderer, frames: int) -> float:  # noqa: ANN001
    camera = renderer.GetActiveCamera()
    start = time.perf_counter()
    for _ in range(frames):
        camera.Azimuth(360 / ROTATION_FRAMES)
        window.Render()
    return (time.perf_counter() - start) * 1000 / frames


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        case, volume_path, labels_dir = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        result = _baseline(volume_path) if case == "baseline" else _ours(volume_path, labels_dir)
        print(json.dumps(result))
    else:
        main()
