"""Series open: cold (read + decode + sort), warm (memory hit, disk .npy reload) vs plain pydicom;
then a series not in any cache opened through the services (local store): its first slice vs
reading and decoding that one instance alone, and the whole volume vs SimpleITK's
``ImageSeriesReader`` (``pip install SimpleITK`` for the benchmark; the row is skipped without).

Baseline: ``pydicom.dcmread`` + ``ds.pixel_array`` for every file — no rescale, no sorting,
no geometry, i.e. the least any reader must do. Cold "ours" adds rescale, sorting and the
stack; the disk cache is written in the background afterwards (listed: open until written).
The disk reload memory-maps the .npy (the OS page cache may still hold it after the write;
the first slice render after it is listed separately).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from benchmarks import interleaved_ms, median_ms, print_table
from benchmarks.series_opening import empty_caches, load, render_middle, settle, timed_ms
from labelstack.app import prepare
from labelstack.config import Settings
from labelstack.db.session import session_scope
from labelstack.imaging import VolumeCache, render_slice, volume_from_datasets
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.accounts import users
from labelstack.services.accounts.users import UserCreate
from labelstack.services.images import importing, runtime, series_load
from labelstack.services.images.shape import stack_order
from labelstack.services.images.sources import sources_from_paths

COLD_RUNS = 11

SHAPE = (300, 512, 512)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-volume-"))
    try:
        shape = (int(sys.argv[1]), 512, 512) if len(sys.argv) > 1 else SHAPE
        series = write_ct_series(work / "ct", shape=shape, shuffle=True)
        real = [
            (f"generated CT {shape[2]}x{shape[1]}x{shape[0]} ({len(series)} files, uncompressed)", series),
            (
                "pydicom-data US cine color3d_jpeg_baseline (1 file, 120 frames JPEG)",
                [Path(get_testdata_file("color3d_jpeg_baseline.dcm", download=False))],
            ),
            (
                "pydicom-data CR RG1_J2KR (1 file, 1955x1841 JPEG 2000 lossless)",
                [Path(get_testdata_file("RG1_J2KR.dcm", download=False))],
            ),
        ]
        rows = [_measure(name, paths, work / f"cache{i}") for i, (name, paths) in enumerate(real)]
        opened = _open_cold(series, work / "served", shape)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("Series open, median ms (cold: 5 runs, warm: 30 runs)")
    print_table(
        [
            "series",
            "baseline pydicom",
            "ours cold",
            "ours cold + disk write",
            "memory hit",
            "disk reload",
            "disk reload + 1st render",
            "baseline / disk reload",
        ],
        rows,
    )
    print(f"\nA series not in any cache, local store, {shape[2]}x{shape[1]}x{shape[0]}: median ms of "
          f"{COLD_RUNS} cold runs (memory and disk volume caches emptied; OS page cache warm)")
    print_table(["what", "ours", "baseline", "baseline is", "ours / baseline", "target"], opened)


def _open_cold(paths: list[Path], work: Path, shape: tuple[int, int, int]) -> list[tuple]:
    """First slice and whole volume through the services, from a store no cache has seen."""
    settings = Settings(data_dir=work, database_url=f"sqlite:///{work / 'bench.db'}")
    prepare(settings)
    with session_scope() as session:
        report = importing.import_dicom(session, actor=None, sources=sources_from_paths(paths))
        admin = users.create_user(session, actor=None, data=UserCreate(
            email="bench@example.org", password="benchmark-only", roles=["admin"]))
    uid = report.items[0].series_uid
    with session_scope() as session:
        item = series_load.indexed(session, uid)
    kept = stack_order(item.key)
    assert kept is not None, "the import keeps the stack order"
    order = kept.order
    middle = runtime.store("local").path(order[shape[0] // 2][0])
    sitk = _simpleitk_reader(paths[0].parent)
    runs: dict[str, list[float]] = {"first": [], "one": [], "imaging": [], "whole": [], "sitk": []}
    for _ in range(COLD_RUNS):
        empty_caches(uid)
        runs["first"].append(timed_ms(lambda: render_middle(admin, uid)))
        load(uid)
        settle()
        runs["one"].append(timed_ms(lambda: pydicom.dcmread(middle).pixel_array))
        runs["imaging"].append(timed_ms(lambda: render_slice(volume_from_datasets(
            [pydicom.dcmread(middle)]), "axial", 0, fmt="jpeg")))
        empty_caches(uid)
        runs["whole"].append(timed_ms(lambda: load(uid)))
        settle()
        if sitk is not None:
            runs["sitk"].append(timed_ms(sitk))
    ms = {name: statistics.median(values) if values else None for name, values in runs.items()}
    rows = [("first slice (middle, JPEG) via images.view.render", ms["first"],
             ms["one"], "dcmread + pixel_array of that instance", f"{ms['first'] / ms['one']:.2f}x",
             "≤ 1.5x"),
            ("  that slice decoded from its instance instead (compressed files' way): read + "
             "volume_from_datasets + render_slice", ms["imaging"],
             ms["one"], "dcmread + pixel_array of that instance",
             f"{ms['imaging'] / ms['one']:.2f}x", "")]
    if ms["sitk"] is None:
        rows.append(("whole volume via images.view.load_volume", ms["whole"], "—",
                     "SimpleITK not installed: pip install SimpleITK", "—", "≤ 1.0x"))
    else:
        rows.append(("whole volume via images.view.load_volume", ms["whole"], ms["sitk"],
                     "SimpleITK ImageSeriesReader (GDCM sort + read)",
                     f"{ms['whole'] / ms['sitk']:.2f}x", "≤ 1.0x"))
    return rows


def _simpleitk_reader(folder: Path) -> Callable[[], object] | None:
    try:
        import SimpleITK  # noqa: N813  (benchmark only, not a dependency)
    except ImportError:
        return None

    def read() -> object:
        reader = SimpleITK.ImageSeriesReader()
        reader.SetFileNames(SimpleITK.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
        return SimpleITK.GetArrayViewFromImage(reader.Execute())

    return read


def _measure(name: str, paths: list[Path], cache_dir: Path) -> tuple:
    def read():
        return [pydicom.dcmread(p) for p in paths]

    cold = interleaved_ms(
        {"baseline": lambda: [ds.pixel_array for ds in read()], "ours": lambda: volume_from_datasets(read())},
        repeat=5,
    )
    cache = VolumeCache(cache_dir, 8 << 30)
    # one cold open through the cache, until its background .npy write has finished
    written = median_ms(
        lambda: (cache.get("series", lambda: volume_from_datasets(read())), cache.flush()), repeat=1, warmup=0
    )
    memory = median_ms(lambda: cache.get("series", _never), repeat=30)
    disk = median_ms(lambda: VolumeCache(cache_dir, 8 << 30).get("series", _never), repeat=30)
    disk_render = median_ms(
        lambda: render_slice(VolumeCache(cache_dir, 8 << 30).get("series", _never), "axial", 0, fmt="jpeg"),
        repeat=30,
    )
    return (
        name,
        cold["baseline"],
        cold["ours"],
        written,
        memory,
        disk,
        disk_render,
        f"{cold['baseline'] / disk:.0f}x",
    )


def _never():
    raise AssertionError("the cache should have answered")


if __name__ == "__main__":
    main()
