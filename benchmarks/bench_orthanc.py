"""One windowed slice: our render from the cached volume vs Orthanc's own rendered endpoint.

A generated 512×512 CT series (default 300 slices) is stored in a private Orthanc (STOW-RS
through our import), indexed, and opened through our volume cache; then the middle axial
slice is rendered at W/L 400/40 as JPEG by (a) `render_slice` on the cached volume, (b) the
whole service path (index lookup + cache hit + render), and (c) Orthanc's
`/instances/{id}/rendered?window=40,400,linear` over loopback HTTP (keep-alive).
Run: ``python -m benchmarks.bench_orthanc [--slices 300]``; figures go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from pydicom import dcmread

from benchmarks import median_ms, print_table
from labelstack.app import prepare
from labelstack.config import Settings
from labelstack.db.session import session_scope
from labelstack.imaging.phantom import write_ct_series
from labelstack.imaging.render import render_slice
from labelstack.services.accounts import users
from labelstack.services.accounts.users import UserCreate
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images import view as image_view
from labelstack.services.images.sources import sources_from_paths
from tests.orthanc import running_orthanc, unavailable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=300)
    args = parser.parse_args()
    if reason := unavailable():
        raise SystemExit(reason)
    with tempfile.TemporaryDirectory() as tmp, running_orthanc(Path(tmp) / "orthanc") as orthanc:
        work = Path(tmp)
        paths = write_ct_series(work / "ct", shape=(args.slices, 512, 512), patient_id="BENCH",
                                seed=None)
        settings = Settings(data_dir=work / "data", dicomweb_url=orthanc.dicomweb_url)
        prepare(settings)
        image_runtime.configure(settings)
        start = time.perf_counter()
        with session_scope() as session:
            report = image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))
        stow_s = time.perf_counter() - start
        uid = report.items[0].series_uid
        with session_scope() as session:
            admin = users.create_user(session, actor=None, data=UserCreate(
                email="bench@example.org", password="benchmark-only", roles=["admin"]))
            start = time.perf_counter()
            volume = image_view.load_volume(session, uid)
            cold_ms = (time.perf_counter() - start) * 1000
            image_runtime.reset_cache()  # memory gone, disk cache stays: a restart
            start = time.perf_counter()
            volume = image_view.load_volume(session, uid)
            disk_ms = (time.perf_counter() - start) * 1000
            warm_ms = median_ms(lambda: image_view.load_volume(session, uid))
            index = volume.shape[0] // 2
            ours_ms = median_ms(
                lambda: render_slice(volume, "axial", index, center=40, width=400, fmt="jpeg"), repeat=50
            )
            service_ms = median_ms(
                lambda: image_view.render(
                    session, actor=admin, series_uid=uid, plane="axial", index=index, center=40,
                    width=400, fmt="jpeg"
                ),
                repeat=50,
            )
        sop = str(dcmread(paths[_middle_file(paths, index)], stop_before_pixels=True).SOPInstanceUID)
        with httpx.Client(base_url=orthanc.url, headers={"Accept-Encoding": "identity"}) as http:
            [found] = http.post("/tools/lookup", content=sop).json()
            url = f"/instances/{found['ID']}/rendered"

            def orthanc_render() -> bytes:
                r = http.get(url, params={"window": "40,400,linear"}, headers={"Accept": "image/jpeg"})
                r.raise_for_status()
                return r.content

            orthanc_ms = median_ms(orthanc_render, repeat=50)
    rows = [
        ["STOW-RS import via labelstack", f"{args.slices} files", stow_s * 1000, ""],
        ["open series from Orthanc (WADO-RS + decode), cold", "", cold_ms, ""],
        ["reopen after restart (disk cache)", "", disk_ms, ""],
        ["reopen (memory cache)", "", warm_ms, ""],
        ["render axial JPEG, render_slice on cached volume", "512×512", ours_ms, ours_ms / orthanc_ms],
        [
            "render axial JPEG, service path (index + cache + render)",
            "512×512",
            service_ms,
            service_ms / orthanc_ms,
        ],
        ["Orthanc /instances/{id}/rendered?window=40,400,linear", "512×512", orthanc_ms, 1.0],
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_table(["what", "size", "ms (median)", "× Orthanc"], rows)
    print(out.getvalue())
    with Path(__file__).with_name("README.md").open("a") as f:
        f.write(
            f"\n## Slice render vs Orthanc ({date.today()}, `python -m benchmarks.bench_orthanc`)"
            f"\n\nGenerated CT 512²×{args.slices} in a private Orthanc 1.10 on loopback "
            "(HTTP compression off); our figures are in-process, Orthanc's include "
            "loopback HTTP.\n\n" + out.getvalue()
        )


def _middle_file(paths: list[Path], index: int) -> int:
    """The file of axial slice `index`: the phantom writes slices in position order."""
    return index


if __name__ == "__main__":
    main()
