"""One slice render per plane (W/L + label overlay + encode) on a 512×512×300 CT volume, then
where one request of the render route spends its time.

Ours: ``render_slice`` (OpenCV saturating window, ``addWeighted`` + ``copyTo`` overlay, JPEG).
Baseline: float numpy windowing, numpy boolean-index overlay, PNG — the straightforward way.

The second table times each stage of ``GET /series/{uid}/render`` in-process (SQLite, a
generated 512² series, a non-admin whose task holds it: the view rule's longest path): the
lookups as the services answer them (brief caches) against the database reads they replace.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
from sqlmodel import select

from benchmarks import interleaved_ms, print_table
from labelstack.app import prepare
from labelstack.config import Settings
from labelstack.db.models import Series, Task, TaskItem
from labelstack.db.session import session_scope
from labelstack.imaging import Volume, extract_slice, render_slice
from labelstack.imaging.phantom import AXIAL, phantom_ct, write_ct_series
from labelstack.imaging.render import encode, window_slice
from labelstack.services.accounts import auth, cached_users, users
from labelstack.services.accounts.users import UserCreate
from labelstack.services.images import access, importing, runtime, series_load
from labelstack.services.images import view as image_view
from labelstack.services.images.shape import instance_keys
from labelstack.services.images.sources import sources_from_paths

SHAPE = (300, 512, 512)
CENTER, WIDTH, OPACITY, COLOUR = 40.0, 400.0, 0.4, (255, 64, 0)


def main() -> None:
    volume = Volume(
        pixels=phantom_ct(SHAPE).astype(np.float32),
        spacing=(1.0, 0.7, 0.7),
        origin=(0.0, 0.0, 0.0),
        orientation=AXIAL,
        modality="CT",
        photometric="MONOCHROME2",
        default_window=(CENTER, WIDTH),
        series_uid="bench",
        kind="volume",
        warnings=[],
    )
    mask = _blob_mask(SHAPE)
    rows = []
    for plane in ("axial", "coronal", "sagittal"):
        index = volume.pixels.shape[{"axial": 0, "coronal": 1, "sagittal": 2}[plane]] // 2

        def ours(fmt: str, plane: str = plane, index: int = index) -> bytes:
            overlay = extract_slice(volume, plane, index, data=mask)
            return render_slice(
                volume,
                plane,
                index,
                center=CENTER,
                width=WIDTH,
                overlays=[(overlay, COLOUR)],
                opacity=OPACITY,
                fmt=fmt,
                quality=90,
            )

        def baseline(plane: str = plane, index: int = index) -> bytes:
            return _naive_render(
                extract_slice(volume, plane, index), extract_slice(volume, plane, index, data=mask)
            )

        shape = "x".join(map(str, extract_slice(volume, plane, index).shape))
        ms = interleaved_ms(
            {"jpeg": lambda: ours("jpeg"), "png": lambda: ours("png"), "naive": baseline}, repeat=50
        )
        rows.append(
            (
                plane,
                shape,
                ms["jpeg"],
                ms["png"],
                ms["naive"],
                f"{ms['naive'] / ms['jpeg']:.1f}x",
                f"{ms['naive'] / ms['png']:.1f}x",
            )
        )
    print(
        f"Slice render, generated CT {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]}, "
        f"W/L {CENTER:g}/{WIDTH:g} + one overlay, median ms"
    )
    print_table(
        [
            "plane",
            "slice",
            "ours JPEG q90",
            "ours PNG",
            "baseline numpy+PNG",
            "baseline / ours JPEG",
            "baseline / ours PNG",
        ],
        rows,
    )
    _route_stages()


def _route_stages() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-route-"))
    try:
        paths = write_ct_series(work / "ct", shape=(64, 512, 512))
        settings = Settings(data_dir=work / "data", database_url=f"sqlite:///{work / 'bench.db'}")
        prepare(settings)
        with session_scope() as session:
            uid = importing.import_dicom(session, actor=None,
                                         sources=sources_from_paths(paths)).items[0].series_uid
            reader = users.create_user(session, actor=None, data=UserCreate(
                email="reader@example.org", password="benchmark-only", roles=["annotator"]))
            task = Task(type="label", name="bench", status="open", assignee_id=reader.id)
            session.add(task)
            session.flush()
            series = session.exec(select(Series)).one()
            session.add(TaskItem(task_id=task.id, position=0, series_id=series.id))
            session.commit()
            token = auth.issue_token(session, reader)
        with session_scope() as session:
            volume = image_view.load_volume(session, uid)
            image = window_slice(volume, "axial", 32, center=CENTER, width=WIDTH)
            pairs = {
                "token → user": (lambda: cached_users.user_for_token(session, token),
                                 lambda: auth.user_for_token(session, token)),
                "view rule (task holds the series)": (
                    lambda: access.require_series_reader(session, actor=reader, series_uid=uid),
                    lambda: access._check(session, actor=reader, series_uid=uid)),
                "index: store and instance keys": (
                    lambda: series_load.indexed(session, uid),
                    lambda: instance_keys(session, session.exec(
                        select(Series.id).where(Series.series_uid == uid)).one())),
            }
            fns: dict[str, object] = {}
            for name, (ours, baseline) in pairs.items():
                fns[f"{name}|ours"], fns[f"{name}|base"] = ours, baseline
            fns["volume cache hit"] = lambda: series_load.start(series_load.indexed(session, uid))
            fns["slice cut + window (axial)"] = lambda: window_slice(volume, "axial", 32, center=CENTER,
                                                                     width=WIDTH)
            fns["JPEG q90 encode"] = lambda: encode(image, "jpeg", 90)
            fns["PNG encode"] = lambda: encode(image, "png")
            key = series_load.indexed(session, uid).key

            def service_call() -> bytes:
                return image_view.render(session, actor=reader, series_uid=uid, index=32,
                                         center=CENTER, width=WIDTH, fmt="jpeg")

            fns["whole service call (JPEG), frame rendered"] = lambda: (
                runtime.frame_cache().forget(key), service_call())
            fns["whole service call (JPEG), frame asked before (frame cache)"] = service_call
            ms = interleaved_ms(fns, repeat=200)  # type: ignore[arg-type]
    finally:
        runtime.configure(None)
        shutil.rmtree(work, ignore_errors=True)
    rows = [(name, ms[f"{name}|ours"], ms[f"{name}|base"], f"{ms[f'{name}|base'] / ms[f'{name}|ours']:.0f}x")
            for name in pairs]
    rows += [(name, ms[name], "", "") for name in fns if "|" not in name]
    print("\nOne render request in-process, median ms (512² CT, 64 slices, SQLite)")
    print_table(["stage", "ours (brief caches)", "database read", "database / ours"], rows)


def _naive_render(slice2d: np.ndarray, mask: np.ndarray) -> bytes:
    low = CENTER - WIDTH / 2
    grey = np.clip((slice2d - low) / WIDTH * 255.0, 0, 255).astype(np.uint8)
    bgr = np.stack([grey, grey, grey], axis=-1)
    colour = np.array(COLOUR[::-1], np.float32)
    bgr[mask] = (bgr[mask] * (1 - OPACITY) + colour * OPACITY).astype(np.uint8)
    return cv2.imencode(".png", bgr)[1].tobytes()


def _blob_mask(shape: tuple[int, int, int]) -> np.ndarray:
    """A sphere of radius 80 voxels in the middle: a typical organ-sized label."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return (z - shape[0] // 2) ** 2 + (y - shape[1] // 2) ** 2 + (x - shape[2] // 2) ** 2 <= 80**2


if __name__ == "__main__":
    main()
