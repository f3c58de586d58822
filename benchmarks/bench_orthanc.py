"""A series on a real Orthanc (private, loopback, HTTP compression off), each figure against a
baseline in the same run:

(a) the render route over HTTP (the whole LabelStack server in its own process, API token,
    keep-alive) vs Orthanc's own ``/instances/{id}/rendered?window=40,400,linear`` for the
    same 512² slices, taken in turns; p50 and p95 of each: every slice once in a window not
    asked before, then every slice again (our frame cache answers; Orthanc renders again).
    The same route of the API alone (``benchmarks/api_server.py``: no NiceGUI middlewares or
    page routes) shows their share;
(b) the first slice of the series with no cache holding it (``images.view.render``, middle
    slice, JPEG; the brief caches emptied too) vs fetching that one instance (WADO-RS) and
    decoding it;
(c) the whole series opened from Orthanc (``images.view.load_volume``: streamed WADO-RS,
    decode, sort) vs dicomweb-client's plain ``retrieve_series`` (fetch and parse only).

Run: ``python -m benchmarks.bench_orthanc [--slices 300] [--render-only]``; figures go to
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from dicomweb_client.api import DICOMwebClient

from benchmarks import print_table
from benchmarks.series_opening import empty_caches, load, render_middle, settle, timed_ms
from labelstack.app import prepare
from labelstack.config import Settings
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.imaging.phantom import write_ct_series
from labelstack.imaging.render import render_slice
from labelstack.imaging.volume import volume_from_datasets
from labelstack.services.accounts import auth, users
from labelstack.services.accounts.users import UserCreate
from labelstack.services.images import importing, series_load
from labelstack.services.images.shape import stack_order
from labelstack.services.images.sources import sources_from_paths
from labelstack.stores.dicomweb import ANY_SYNTAX
from tests.orthanc import free_port, running_orthanc, unavailable
from tests.processes import stop, wait_until_answering

WIDTH, WARM_WIDTH = 400, 401  # (a): the window timed, and the one the warm-up asks
COLD_RUNS = 11  # for (b) and (c)
ORTHANC_CACHE_MB = 1024  # Orthanc's storage cache holds the whole series (its default, 128, does not)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--render-only", action="store_true", help="only (a), the render route")
    args = parser.parse_args()
    if reason := unavailable():
        raise SystemExit(reason)
    with tempfile.TemporaryDirectory() as tmp, \
            running_orthanc(Path(tmp) / "orthanc", MaximumStorageCacheSize=ORTHANC_CACHE_MB) as orthanc:
        work = Path(tmp)
        paths = write_ct_series(work / "ct", shape=(args.slices, 512, 512), patient_id="BENCH",
                                shuffle=True)
        settings = Settings(data_dir=work / "data", dicomweb_url=orthanc.dicomweb_url)
        prepare(settings)
        start = time.perf_counter()
        with session_scope() as session:
            report = importing.import_dicom(session, actor=None, sources=sources_from_paths(paths))
            admin = users.create_user(session, actor=None, data=UserCreate(
                email="bench@example.org", password="benchmark-only", roles=["admin"]))
            token = auth.issue_token(session, admin)
        stow_ms = (time.perf_counter() - start) * 1000
        uid = report.items[0].series_uid
        with session_scope() as session:
            item = series_load.indexed(session, uid)
        kept = stack_order(item.key)
        assert kept is not None, "the import keeps the stack order"
        order = kept.order
        opened = [] if args.render_only else _open_cold(admin, uid, orthanc.dicomweb_url, order)
        rendered = _render_route(work, orthanc.url, orthanc.dicomweb_url, token, uid, order)
    print(f"Generated CT 512²×{args.slices} in Orthanc; STOW-RS import via labelstack "
          f"{stow_ms:.0f} ms")
    print_table(["what", "ours", "baseline", "baseline is", "ours / baseline", "target"],
                opened + rendered)


def _open_cold(admin: User, uid: str, dicomweb_url: str,
               order: list[tuple[str, int]]) -> list[tuple]:
    study, series, middle_sop = order[len(order) // 2][0].split("/")
    plain = DICOMwebClient(dicomweb_url)
    runs: dict[str, list[float]] = {"first": [], "one": [], "imaging": [], "whole": [],
                                    "plain": []}
    for _ in range(COLD_RUNS):  # each first slice, like each baseline, follows a series retrieve
        empty_caches(uid)
        runs["first"].append(timed_ms(lambda: render_middle(admin, uid)))
        load(uid)
        settle()
        runs["plain"].append(timed_ms(lambda: plain.retrieve_series(study, series)))
        runs["one"].append(timed_ms(lambda: plain.retrieve_instance(
            study, series, middle_sop, media_types=ANY_SYNTAX).pixel_array))
        runs["imaging"].append(timed_ms(lambda: render_slice(volume_from_datasets([plain.retrieve_instance(
            study, series, middle_sop, media_types=ANY_SYNTAX)]), "axial", 0, fmt="jpeg")))
        empty_caches(uid)
        runs["whole"].append(timed_ms(lambda: load(uid)))
        settle()
        plain.retrieve_series(study, series)
    ms = {name: statistics.median(values) for name, values in runs.items()}
    return [
        ("(b) first slice, no cache (middle, JPEG)", ms["first"], ms["one"],
         "WADO-RS of that instance + pixel_array", f"{ms['first'] / ms['one']:.2f}x", "≤ 1.5x"),
        ("  that slice decoded from its instance instead (compressed files' way): WADO-RS + "
         "volume_from_datasets + render_slice", ms["imaging"],
         ms["one"], "WADO-RS of that instance + pixel_array",
         f"{ms['imaging'] / ms['one']:.2f}x", ""),
        (f"(c) whole series opened ({len(order)} slices)", ms["whole"], ms["plain"],
         "dicomweb-client retrieve_series (no decode)", f"{ms['whole'] / ms['plain']:.2f}x",
         "≤ 1500 ms"),
    ]


def _render_route(work: Path, orthanc_url: str, dicomweb_url: str, token: str, uid: str,
                  order: list[tuple[str, int]]) -> list[tuple]:
    """Both servers in processes of their own, asked in turns for the same slices: every
    slice once in a window not asked before (each frame rendered: the first pass of a
    viewer through a series), then every slice again (scrolling back: our frame cache,
    while Orthanc renders each again)."""
    slices = list(range(len(order)))
    with httpx.Client(base_url=orthanc_url) as client:
        ids = {z: client.post("/tools/lookup", content=order[z][0].rsplit("/", 1)[1]).json()[0]["ID"]
               for z in slices}
    servers = (_server(work / "data", dicomweb_url, ["-m", "labelstack", "serve", "--port"]),
               _server(work / "data", dicomweb_url, ["-m", "benchmarks.api_server"]))
    with servers[0] as app_port, servers[1] as api_port:
        host, orthanc_port = orthanc_url.removeprefix("http://").split(":")
        conns = {"app": http.client.HTTPConnection("127.0.0.1", app_port),
                 "api": http.client.HTTPConnection("127.0.0.1", api_port),
                 "orthanc": http.client.HTTPConnection(host, int(orthanc_port))}
        auth_header = {"Authorization": f"Bearer {token}"}

        def frame(name: str, z: int, width: int) -> bytes:
            if name == "orthanc":
                return _get(conns[name], f"/instances/{ids[z]}/rendered?window=40,{width},linear",
                            {"Accept": "image/jpeg"})
            return _get(conns[name], f"/api/v1/series/{uid}/render?index={z}&ww={width}&wl=40"
                        "&format=jpeg", auth_header)

        for name in ("app", "api"):  # the volume loaded in each server
            _get(conns[name], f"/api/v1/series/{uid}/render?plane=coronal&format=jpeg", auth_header)
        for z in slices:  # warm: Orthanc's instance cache, our code paths (another window)
            for name in conns:
                frame(name, z, WARM_WIDTH)
        passes: dict[str, dict[str, list[float]]] = {}
        for visit in ("first", "again"):
            times = passes[visit] = {name: [] for name in conns}
            for z in slices:
                for name in conns:
                    times[name].append(timed_ms(lambda name=name, z=z: frame(name, z, WIDTH),
                                                quiet=False))
    rows = []
    for visit, label, which, target in (
            ("first", "each frame rendered (first visit), the app", "app", "≤ 0.8x"),
            ("first", "each frame rendered (first visit), the API alone", "api", "≤ 0.8x"),
            ("again", "frames seen before: our frame cache, the app", "app", "(a cache, not rendering)")):
        times = passes[visit]
        for stat, pick in (("p50", statistics.median), ("p95", _p95)):
            ours, theirs = pick(times[which]), pick(times["orthanc"])
            rows.append((f"(a) render route over HTTP, {label}, {stat}", ours, theirs,
                         f"Orthanc /instances/{{id}}/rendered, {stat}", f"{ours / theirs:.2f}x",
                         target))
    return rows


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


class _server:
    """A server on this data dir (`command` + its port), in a process of its own."""

    def __init__(self, data_dir: Path, dicomweb_url: str, command: list[str]) -> None:
        self.data_dir, self.dicomweb_url, self.port = data_dir, dicomweb_url, free_port()
        self.command = command

    def __enter__(self) -> int:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(LABELSTACK_DATA_DIR=str(self.data_dir))
        if self.dicomweb_url:
            env["LABELSTACK_DICOMWEB_URL"] = self.dicomweb_url
        log_path = self.data_dir / f"server-{self.port}.log"
        self.log = log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, *self.command, str(self.port)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_answering(f"http://127.0.0.1:{self.port}/api/v1/health", self.proc, log_path,
                             name=" ".join(self.command[:2]), timeout=120, interval=0.3)
        return self.port

    def __exit__(self, *_: object) -> None:
        stop(self.proc, timeout=15)
        self.log.close()


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> bytes:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")
    return body


if __name__ == "__main__":
    main()
