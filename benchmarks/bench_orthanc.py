"""A series on a real Orthanc (private, loopback, HTTP compression off), each figure against a
baseline in the same run:

(a) the render route over HTTP (the whole LabelStack server in its own process, API token,
    keep-alive) vs Orthanc's own ``/instances/{id}/rendered?window=40,400,linear`` for the
    same 512² slices, taken in turns; p50 and p95 of each. The same route of the API alone
    (``benchmarks/api_server.py``: no NiceGUI middlewares or page routes) shows their share;
(b) the first slice of the series with no cache holding it (``images.view.render``, middle
    slice, JPEG) vs fetching that one instance (WADO-RS) and decoding it;
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

RENDERS = 300  # requests to each server for (a)
COLD_RUNS = 5  # for (b) and (c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--render-only", action="store_true", help="only (a), the render route")
    args = parser.parse_args()
    if reason := unavailable():
        raise SystemExit(reason)
    with tempfile.TemporaryDirectory() as tmp, running_orthanc(Path(tmp) / "orthanc") as orthanc:
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
        order = stack_order(uid, item.keys)
        assert order is not None, "the import keeps the stack order"
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
    for _ in range(COLD_RUNS):
        empty_caches(uid)
        runs["first"].append(timed_ms(lambda: render_middle(admin, uid)))
        load(uid)
        settle()
        runs["one"].append(timed_ms(lambda: plain.retrieve_instance(
            study, series, middle_sop, media_types=ANY_SYNTAX).pixel_array))
        runs["imaging"].append(timed_ms(lambda: render_slice(volume_from_datasets([plain.retrieve_instance(
            study, series, middle_sop, media_types=ANY_SYNTAX)]), "axial", 0, fmt="jpeg")))
        empty_caches(uid)
        runs["whole"].append(timed_ms(lambda: load(uid)))
        settle()
        runs["plain"].append(timed_ms(lambda: plain.retrieve_series(study, series)))
    ms = {name: statistics.median(values) for name, values in runs.items()}
    return [
        ("(b) first slice, no cache (middle, JPEG)", ms["first"], ms["one"],
         "WADO-RS of that instance + pixel_array", f"{ms['first'] / ms['one']:.2f}x", "≤ 1.5x"),
        ("  of which imaging: WADO-RS + volume_from_datasets + render_slice", ms["imaging"],
         ms["one"], "WADO-RS of that instance + pixel_array",
         f"{ms['imaging'] / ms['one']:.2f}x", ""),
        (f"(c) whole series opened ({len(order)} slices)", ms["whole"], ms["plain"],
         "dicomweb-client retrieve_series (no decode)", f"{ms['whole'] / ms['plain']:.2f}x",
         "≤ 1500 ms"),
    ]


def _render_route(work: Path, orthanc_url: str, dicomweb_url: str, token: str, uid: str,
                  order: list[tuple[str, int]]) -> list[tuple]:
    """Both servers in processes of their own, asked in turns for the same slices."""
    slices = list(range(0, len(order), max(1, len(order) // 50)))
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

        def frame(name: str, z: int) -> bytes:
            if name == "orthanc":
                return _get(conns[name], f"/instances/{ids[z]}/rendered?window=40,400,linear",
                            {"Accept": "image/jpeg"})
            return _get(conns[name], f"/api/v1/series/{uid}/render?index={z}&ww=400&wl=40"
                        "&format=jpeg", auth_header)

        for name in ("app", "api"):  # the volume loaded in each server
            _get(conns[name], f"/api/v1/series/{uid}/render?plane=coronal&format=jpeg", auth_header)
        for z in slices:  # warm
            for name in conns:
                frame(name, z)
        times: dict[str, list[float]] = {name: [] for name in conns}
        for n in range(RENDERS):
            z = slices[n % len(slices)]
            for name in conns:
                times[name].append(timed_ms(lambda name=name, z=z: frame(name, z)))
    p50 = {name: statistics.median(values) for name, values in times.items()}
    p95 = {name: statistics.quantiles(values, n=20)[-1] for name, values in times.items()}
    rows = []
    for label, which in (("the app (labelstack serve)", "app"),
                         ("the API alone (no NiceGUI middlewares)", "api")):
        for stat, values in (("p50", p50), ("p95", p95)):
            rows.append((f"(a) render route over HTTP, {label}, {stat}", values[which],
                         values["orthanc"], f"Orthanc /instances/{{id}}/rendered, {stat}",
                         f"{values[which] / values['orthanc']:.2f}x", "≤ 0.8x"))
    return rows


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
        self.log = (self.data_dir / f"server-{self.port}.log").open("w")
        self.proc = subprocess.Popen([sys.executable, *self.command, str(self.port)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.data_dir / f"server-{self.port}.log").read_text())
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v1/health").status_code == 200:
                    return self.port
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("the server did not start")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
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
