"""The DICOM mutation corpus (`dicom_corpus.py`) uploaded to a real server, one input per
request, as the admin: each is stored or refused with a reason (never a 5xx), nothing is
half-stored (the store gains exactly the files the index gains, and the report counts them),
and everything stored displays (series detail, the middle slice, thumbnail, metadata).
Also the zip bomb's memory: the server's peak resident memory around its upload, reported."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import LiveServer
from tests.integration.fuzz.conftest import bearer, db_kind, server_pid
from tests.integration.fuzz.dicom_corpus import Upload, corpus

DISPLAY = ("", "/render", "/thumbnail", "/metadata")  # the middle slice is render's default
STRIDE = {"sqlite": 1, "postgresql": 3}  # every input on SQLite, every third on PostgreSQL


class Index:
    """What the server holds: files in its store, rows in its index."""

    def __init__(self, server: LiveServer) -> None:
        self.store = server.data_dir / "dicom"
        url = server.database_url
        self.engine = sa.create_engine(
            f"sqlite:///{server.data_dir / 'labelstack.db'}" if url == "sqlite" else url)

    def counts(self) -> tuple[int, int]:
        files = sum(1 for p in self.store.rglob("*") if p.is_file())
        with self.engine.connect() as conn:
            return files, conn.execute(sa.text("SELECT count(*) FROM instances")).scalar_one()


@pytest.fixture(scope="module")
def index(server: LiveServer) -> Iterator[Index]:
    value = Index(server)
    yield value
    value.engine.dispose()


@dataclass(kw_only=True, slots=True)
class Outcomes:
    database: str
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def table(self) -> str:
        c = self.counts
        return "\n".join([
            f"DICOM mutation corpus on {self.database} (every {_nth(STRIDE[self.database])}input, "
            "one upload each, POST /api/v1/dicom as admin)",
            f"{'inputs tried':<28}{c['inputs']:>6}",
            f"{'  with something stored':<28}{c['stored']:>6}   ({c['files stored']} files; "
            f"{c['displayed']} of {c['series']} series displayed)",
            f"{'  refused cleanly':<28}{c['refused']:>6}   ({c['files refused']} files refused with"
            " a reason)",
            f"{'  5xx':<28}{c['5xx']:>6}",
            f"{'  half-stored':<28}{c['half-stored']:>6}",
            f"{'  stored but not displayed':<28}{c['undisplayed']:>6}",
        ])


def _nth(stride: int) -> str:
    return {1: "", 2: "second ", 3: "third "}.get(stride, f"{stride}th ")


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> dict[str, str]:
    return bearer(server, "admin")


def _upload(server: LiveServer, admin: dict[str, str], filename: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/dicom", headers=admin, timeout=300,
                      files=[("files", (filename, data, "application/octet-stream"))])


def _try(server: LiveServer, admin: dict[str, str], index: Index, upload: Upload,
         outcomes: Outcomes) -> None:
    counts, problem = outcomes.counts, outcomes.problems.append
    counts["inputs"] += 1
    before = index.counts()
    r = _upload(server, admin, upload.filename, upload.data)
    after = index.counts()
    if r.status_code >= 500:
        counts["5xx"] += 1
        problem(f"{upload.name}: {r.status_code} {r.text[:200]}")
        return
    stored = 0
    if r.status_code == 200:
        items = r.json()["items"]
        stored = sum(1 for i in items if i["status"] == "stored")
        unexplained = [i for i in items if i["status"] in ("rejected", "conflict") and not i["reason"]]
        if unexplained:
            problem(f"{upload.name}: refused without a reason: {unexplained}")
        counts["files stored"] += stored
        counts["files refused"] += sum(1 for i in items if i["status"] in ("rejected", "conflict"))
        _check_display(server, admin, upload, {i["series_uid"] for i in items
                                               if i["status"] == "stored"}, outcomes)
    elif not r.json().get("detail"):
        problem(f"{upload.name}: {r.status_code} without a reason")
    counts["stored" if stored else "refused"] += 1
    if after[0] - before[0] != stored or after[1] - before[1] != stored:
        counts["half-stored"] += 1
        problem(f"{upload.name}: {stored} reported stored, the store gained {after[0] - before[0]} "
                f"files and the index {after[1] - before[1]} instances")


def _check_display(server: LiveServer, admin: dict[str, str], upload: Upload, series: set[str],
                   outcomes: Outcomes) -> None:
    for uid in sorted(series):
        outcomes.counts["series"] += 1
        answers = {path: httpx.get(f"{server.url}/api/v1/series/{uid}{path}", headers=admin,
                                   timeout=120) for path in DISPLAY}
        failed = {path or "/": (r.status_code, r.text[:160]) for path, r in answers.items()
                  if r.status_code != 200}
        if failed:
            outcomes.counts["undisplayed"] += 1
            outcomes.problems.append(f"{upload.name}: series {uid} stored but {failed}")
        else:
            outcomes.counts["displayed"] += 1


def _memory_kib(pid: int) -> dict[str, int]:
    """The server's resident memory now (VmRSS) and at its peak so far (VmHWM), in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


def test_the_zip_bomb_is_refused_and_its_memory_reported(
        server: LiveServer, admin: dict[str, str], index: Index, zip_bomb: Path,
        report: Callable[[str], None]) -> None:
    pid = server_pid(server)
    stored = index.counts()
    before = _memory_kib(pid)
    r = _upload(server, admin, "bomb.zip", zip_bomb.read_bytes())
    after = _memory_kib(pid)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["status"] == "rejected" and "LABELSTACK_MAX_ZIP_RATIO" in item["reason"], item
    assert index.counts() == stored
    rss, peak = (before["VmRSS"] >> 10, after["VmRSS"] >> 10), (before["VmHWM"] >> 10,
                                                                  after["VmHWM"] >> 10)
    report("\n".join([
        f"zip bomb on {db_kind(server)}: a {zip_bomb.stat().st_size / 2**20:.1f} MiB zip holding "
        f"1 GiB of zeros: {item['status']} ({item['reason'][:70]}...)",
        f"  server resident memory before {rss[0]} MiB, after {rss[1]} MiB; peak so far (VmHWM) "
        f"before {peak[0]} MiB, after {peak[1]} MiB (+{peak[1] - peak[0]})",
    ]))


def test_every_mutation_is_stored_and_displayed_or_refused_cleanly(
        server: LiveServer, admin: dict[str, str], index: Index,
        report: Callable[[str], None]) -> None:
    outcomes = Outcomes(database=db_kind(server))
    for upload in corpus()[::STRIDE[outcomes.database]]:
        _try(server, admin, index, upload, outcomes)
    report(outcomes.table())
    assert outcomes.counts["stored"] and outcomes.counts["refused"]  # the corpus reaches both ends
    assert not outcomes.problems, "\n".join(outcomes.problems)
