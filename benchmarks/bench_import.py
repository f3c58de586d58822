"""Import throughput: `labelstack import` into the local store vs a plain copy + dcmread.

Two file sets: a generated 512×512 CT series (default 300 slices) and the real files of
pydicom-data / pydicom (mixed modalities and transfer syntaxes). Our import parses,
validates (decodability), writes atomically and indexes each file in its own transaction.
Run: ``python -m benchmarks.bench_import [--slices 300]``; figures go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file

from benchmarks import print_table
from labelstack.app import prepare
from labelstack.config import Settings
from labelstack.db.session import session_scope
from labelstack.imaging.phantom import write_ct_series
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images.sources import sources_from_paths

REAL_FILES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "emri_small.dcm",
    "RG3_UNCR.dcm",
    "RG3_J2KR.dcm",
    "US1_J2KR.dcm",
    "examples_ybr_color.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm",
    "693_J2KR.dcm",
    "SC_rgb_rle.dcm",
    "image_dfl.dcm",
    "OBXXXX1A_rle_2frame.dcm",
)


def baseline(paths: list[Path], target: Path) -> float:
    """What any importer must at least do: read each file with pydicom and copy it."""
    target.mkdir(parents=True)
    start = time.perf_counter()
    for i, path in enumerate(paths):
        dcmread(path)
        shutil.copyfile(path, target / f"{i:05d}.dcm")
    return time.perf_counter() - start


def ours(paths: list[Path], work: Path) -> tuple[float, dict[str, int]]:
    settings = Settings(data_dir=work)
    prepare(settings)
    image_runtime.configure(settings)
    start = time.perf_counter()
    with session_scope() as session:
        report = image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths), store=None)
    return time.perf_counter() - start, report.summary


def measure(name: str, paths: list[Path], work: Path) -> list[list[object]]:
    size_mb = sum(p.stat().st_size for p in paths) / 2**20
    base = baseline(paths, work / f"{name}-copy")
    mine, summary = ours(paths, work / f"{name}-import")
    again, summary_again = ours(paths, work / f"{name}-import")  # everything already present
    assert summary["rejected"] == 0 and summary_again["present"] == len(paths), summary
    rows = []
    for label, seconds in (
        ("copy + dcmread (baseline)", base),
        ("labelstack import", mine),
        ("labelstack import again (all present)", again),
    ):
        rows.append(
            [
                name,
                label,
                len(paths),
                round(size_mb, 1),
                seconds * 1000,
                len(paths) / seconds,
                size_mb / seconds,
                seconds / base,
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ct = write_ct_series(work / "ct", shape=(args.slices, 512, 512), patient_id="BENCH",
                             seed=None)
        real = [Path(p) for name in REAL_FILES if (p := get_testdata_file(name))]
        rows = measure(f"CT 512²×{args.slices}", ct, work) + measure("pydicom-data", real, work)
    headers = ["set", "method", "files", "MB", "ms", "files/s", "MB/s", "× baseline"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_table(headers, rows)
    print(out.getvalue())
    section = (
        f"## Import throughput ({date.today()}, `python -m benchmarks.bench_import`)\n\n"
        "Local store on SQLite: each file parsed, checked for decodability, written "
        "atomically and indexed in its own savepoint, committed every "
        f"{image_import.COMMIT_EVERY} files. Wall-clock figures on a shared, busy 2-vCPU machine: "
        "read the ratios.\n\n" + out.getvalue()
    )
    readme = Path(__file__).with_name("README.md")
    readme.write_text(replace_section(readme.read_text(), "## Import throughput", section))


def replace_section(text: str, heading: str, section: str) -> str:
    """`text` with the section starting at `heading` replaced (or `section` appended), so a
    re-run updates the README instead of stacking stale figures under new ones."""
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(heading))
    rest = "" if end < 0 else text[end:]
    return text[:start] + section.rstrip("\n") + "\n" + rest


if __name__ == "__main__":
    main()
