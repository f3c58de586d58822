"""Series open: cold (read + decode + sort), warm (memory hit, disk .npy reload) vs plain pydicom.

Baseline: ``pydicom.dcmread`` + ``ds.pixel_array`` for every file — no rescale, no sorting,
no geometry, i.e. the least any reader must do. Cold "ours" adds rescale, sorting and the
stack; the disk cache is written in the background afterwards (listed: open until written).
The disk reload memory-maps the .npy (the OS page cache may still hold it after the write;
the first slice render after it is listed separately).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from benchmarks import interleaved_ms, median_ms, print_table
from labelstack.imaging import VolumeCache, render_slice, volume_from_datasets
from labelstack.imaging.phantom import write_ct_series

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
