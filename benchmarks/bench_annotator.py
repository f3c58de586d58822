"""The annotator's server side: saving a mask, memory per open session, many annotators at once.

Every part runs on a real imported phantom CT (``write_ct_series`` 300×512×512, spacing
2.5/0.7/0.7 mm, ``import_dicom`` into a temporary data dir, a migrated database) with users,
labels and started annotation tasks made through the services, as the integration tests do.

- ``save``: a realistic mask (organ-like filled polygons on 40 slices and brush strokes sent as
  frame-sized ``EditOp``s, some erasing, all through ``EditSession.apply``). Our codec
  (``encode_mask``: packbits + zstd 3) against ``np.save`` of the raw bools and
  ``np.savez_compressed``, encode and decode, in memory; then ``EditSession.save`` (journal
  fold + revision insert on SQLite) against the codec alone.
- ``memory``: N ``open_edit`` sessions over the one cached volume, new annotations and
  annotations reopened from a saved revision; tracemalloc growth (retained and peak) and RSS
  growth per session, against the mask's z·y·x bytes.
- ``crowd``: 20 annotators (own user, label, task, ``EditSession``) painting brush ops at
  60 Hz for a few seconds, each op in its own database session as the page does; ack latency
  measured from the op's scheduled send time (so queueing counts), on SQLite and on
  PostgreSQL (a database created on the local server and dropped after), against one
  annotator alone on the same database. Two ways of running the ops: 20 threads calling
  ``apply`` directly, and through one shared ``ThreadPoolExecutor()`` of NiceGUI's default
  size, which is what ``run.io_bound`` uses in the server process.

Run: ``python -m benchmarks.bench_annotator [save|memory|crowd ...] [--sessions 8] [--seconds 4]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import gc
import io
import math
import os
import statistics
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from argon2 import PasswordHasher
from sqlmodel import Session, select

from benchmarks import interleaved_ms, print_table
from labelstack.annotation.codec import PackedMask, decode_mask, encode_mask
from labelstack.annotation.editor import MaskEditor
from labelstack.annotation.ops import EditOp
from labelstack.config import Settings
from labelstack.db import session as db_session
from labelstack.db.enums import Role, TaskStatus, TaskType
from labelstack.db.migrate import upgrade
from labelstack.db.models import Annotation, Series, User
from labelstack.db.session import session_scope
from labelstack.imaging.phantom import write_ct_series
from labelstack.imaging.volume import Volume
from labelstack.services import security
from labelstack.services.accounts import users
from labelstack.services.accounts.users import UserCreate
from labelstack.services.annotations import editing, revisions
from labelstack.services.images import importing, runtime
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.images.view import load_volume
from labelstack.services.labels import catalog
from labelstack.services.labels.catalog import AssignmentCreate, LabelCreate
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate
from tests.services import postgres_database

SHAPE = (300, 512, 512)  # z, y, x
SPACING = (2.5, 0.7, 0.7)
PASSWORD = "bench-password-42"
RATE_HZ = 60.0
MiB = 1 << 20


# ---- the world: an imported series, users, labels, started tasks


@dataclass(kw_only=True)
class World:
    url: str
    series_uid: str
    admin: User
    annotators: list[User]
    annotation_ids: list[int]


def series_files(root: Path) -> list[Path]:
    """The phantom series, written once per run."""
    directory = root / "ct"
    if not directory.exists():
        write_ct_series(directory, shape=SHAPE, spacing=SPACING, patient_id="BENCH")
    return sorted(directory.glob("*.dcm"))


@contextlib.contextmanager
def world(root: Path, db: str, annotators: int) -> Iterator[World]:
    """A migrated database of kind ``db`` holding the imported series and ``annotators``
    started annotation tasks (one user, label and annotation each); the volume is cached."""
    files = series_files(root)
    if db == "sqlite":
        database: contextlib.AbstractContextManager[str] = contextlib.nullcontext(
            f"sqlite:///{root / f'{db}-{annotators}.db'}")
    else:
        database = postgres_database()
    with database as url:
        data_dir = root / f"data-{db}-{annotators}"
        settings = Settings(data_dir=data_dir, database_url=url, volume_cache_mb=1024)
        settings.prepare_data_dir()
        runtime.configure(settings)
        upgrade(url)
        db_session.configure(url)
        try:
            with session_scope() as s:
                made = _populate(s, url, files, annotators)
                load_volume(s, made.series_uid)  # decoded once, shared through the cache
            runtime.volume_cache().flush()  # its .npy copy written, not competing with fsyncs
            os.sync()
            yield made
        finally:
            runtime.configure(None)
            db_session.get_engine().dispose()


def _populate(s: Session, url: str, files: list[Path], count: int) -> World:
    admin = users.create_user(s, actor=None, data=UserCreate(
        email="admin@bench.example.org", password=PASSWORD, roles=[Role.admin]))
    importing.import_dicom(s, actor=None, sources=sources_from_paths(files))
    series = s.exec(select(Series)).one()
    assert series.id is not None
    people, ids = [], []
    for i in range(count):
        person = users.create_user(s, actor=None, data=UserCreate(
            email=f"annotator{i}@bench.example.org", password=PASSWORD, roles=[Role.annotator]))
        label = catalog.create_label(s, actor=admin, data=LabelCreate(name=f"organ {i}"))
        assert label.id is not None
        assignment = catalog.assign_label(s, actor=admin, data=AssignmentCreate(
            label_id=label.id, series_ids=[series.id])).created[0]
        task = transitions.create_task(s, actor=admin, data=TaskCreate(
            type=TaskType.annotation, name=f"draw {i}", assignee_id=person.id,
            label_assignment_ids=[assignment.id]))
        transitions.set_status(s, actor=person, task_id=task.id, status=TaskStatus.in_progress)
        annotation = s.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
        assert annotation.id is not None
        people.append(person)
        ids.append(annotation.id)
    return World(url=url, series_uid=series.series_uid, admin=admin, annotators=people, annotation_ids=ids)


# ---- what an annotator draws


def organ_ops(rng: np.random.Generator, first: int = 130, slices: int = 40) -> list[EditOp]:
    """Filled outlines of five organ-like shapes on ``slices`` consecutive axial slices (each
    growing and shrinking with z, with a wobbly border), and 36 brush strokes along and across
    them sent as the page sends them (one op per animation frame, 2 new points each); every
    fourth stroke erases."""
    organs = [  # centre row, col, radius rows, cols: liver, spleen, stomach, kidneys
        (250, 200, 140, 165), (220, 400, 70, 55), (160, 330, 50, 60), (340, 190, 45, 35),
        (340, 330, 45, 35)]
    harmonics = [(rng.uniform(0.02, 0.06, 4), rng.uniform(0, 2 * np.pi, 4)) for _ in organs]
    angles = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    ops = []
    for k in range(slices):
        scale = 0.55 + 0.45 * math.sin(math.pi * (k + 0.5) / slices)
        for (r0, c0, rr, rc), (amp, phase) in zip(organs, harmonics, strict=True):
            wobble = 1 + sum(a * np.sin((n + 2) * angles + p + 0.05 * k)
                             for n, (a, p) in enumerate(zip(amp, phase, strict=True)))
            points = np.stack([r0 + scale * rr * wobble * np.sin(angles),
                               c0 + scale * rc * wobble * np.cos(angles)], axis=1)
            ops.append(_op("polygon", "draw", first + k, points))
    for n in range(36):
        points = _walk(rng, start=(rng.uniform(150, 380), rng.uniform(80, 440)), count=61, step=4.0)
        ops += _stroke_ops("erase" if n % 4 == 3 else "draw", first + int(rng.integers(0, slices)),
                           points, radius_mm=float(rng.uniform(2.5, 6.0)))
    return ops


def _walk(rng: np.random.Generator, *, start: tuple[float, float], count: int, step: float,
          low: float = 20.0, high: float = SHAPE[1] - 20.0) -> np.ndarray:
    """A pointer path: mostly straight on, turning slowly, bouncing off the image's edges."""
    heading = rng.uniform(0, 2 * np.pi)
    at = np.array(start, float)
    out = [at.copy()]
    for _ in range(count - 1):
        heading += rng.normal(0, 0.25)
        at += step * np.array([math.sin(heading), math.cos(heading)])
        if not (low <= at[0] <= high and low <= at[1] <= high):
            heading += math.pi
            at = np.clip(at, low, high)
        out.append(at.copy())
    return np.array(out)


def _stroke_ops(mode: str, index: int, points: np.ndarray, *, radius_mm: float,
                per_frame: int = 2) -> list[EditOp]:
    """A stroke as the page sends it: each frame's new points after the last one sent."""
    ops = [_op("brush", mode, index, points[:1], radius_mm)]
    for i in range(1, len(points), per_frame):
        ops.append(_op("brush", mode, index, points[i - 1:i + per_frame], radius_mm))
    return ops


def _op(tool: str, mode: str, index: int, points: np.ndarray, radius_mm: float | None = None) -> EditOp:
    return EditOp.from_json({"tool": tool, "mode": mode, "plane": "axial", "index": index,
                             "points": np.round(points, 2).tolist(), "radius_mm": radius_mm})


def _apply_all(edit: editing.EditSession, actor: User, ops: list[EditOp]) -> None:
    for op in ops:
        with session_scope() as s:
            edit.apply(s, actor=actor, op=op)


# ---- 1. saving


def bench_save(root: Path) -> None:
    rng = np.random.default_rng(1)
    ops = organ_ops(rng)
    with world(root, "sqlite", 1) as w:
        actor, annotation_id = w.annotators[0], w.annotation_ids[0]
        with session_scope() as s:
            edit = editing.open_edit(s, actor=actor, annotation_id=annotation_id, holder="bench-tab")
        start = time.perf_counter()
        _apply_all(edit, actor, ops)
        draw_s = time.perf_counter() - start
        mask = edit.editor.mask
        fraction, slab = float(mask.mean()), float(mask[130:170].mean())
        print(f"Mask {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]}: {len(ops)} ops (200 polygons, 36 strokes) drawn and "
              f"journalled in {draw_s:.1f} s; foreground {fraction:.1%} of the volume, {slab:.1%} of "
              "the 40 drawn slices")

        codecs = _codec_table(mask)
        first_save = _timed_save(edit, actor)
        stroke_saves = []
        for n in range(7):  # one more stroke (31 ops journalled), then a save
            # reopened after each save: a session's journal sequence restarts at 1 once a save
            # folded every entry, and it would think later strokes saved (see README)
            with session_scope() as s:
                edit = editing.open_edit(s, actor=actor, annotation_id=annotation_id, holder="bench-tab")
            points = _walk(rng, start=(250.0, 250.0), count=61, step=4.0)
            _apply_all(edit, actor, _stroke_ops("draw" if n % 2 else "erase", 150, points, radius_mm=4.0))
            stroke_saves.append(_timed_save(edit, actor))
        parts = interleaved_ms({
            "encode": lambda: encode_mask(mask),
            "pack": lambda: PackedMask.of(mask),
            "hash": lambda: PackedMask.of(mask).content_hash(),
        }, repeat=9)
    save_ms = statistics.median(stroke_saves)
    print()
    print_table(["method", "stored bytes", "size / ours", "encode ms", "decode ms",
                 "encode / ours", "decode / ours"], codecs)
    print()
    print_table(["what (SQLite)", "ms", "× encode_mask"], [
        ("encode_mask alone (packbits + zstd 3)", parts["encode"], "1.0x"),
        (f"EditSession.save, first (journal of {len(ops)} entries)", first_save,
         f"{first_save / parts['encode']:.1f}x"),
        ("EditSession.save after one stroke (31 entries), median of 7", save_ms,
         f"{save_ms / parts['encode']:.1f}x"),
        ("  of which: packing the mask under the lock", parts["pack"],
         f"{parts['pack'] / parts['encode']:.1f}x"),
        ("  packing + sha256 (the content hash alone)", parts["hash"],
         f"{parts['hash'] / parts['encode']:.1f}x"),
    ])


def _codec_table(mask: np.ndarray) -> list[list[object]]:
    def npy() -> bytes:
        out = io.BytesIO()
        np.save(out, mask, allow_pickle=False)
        return out.getvalue()

    def npz() -> bytes:
        out = io.BytesIO()
        np.savez_compressed(out, mask=mask)
        return out.getvalue()

    stored = {"ours": encode_mask(mask), "npy": npy(), "npz": npz()}
    encode = interleaved_ms({"ours": lambda: encode_mask(mask), "npy": npy, "npz": npz}, repeat=5)
    decode = interleaved_ms({
        "ours": lambda: decode_mask(stored["ours"], SHAPE),
        "npy": lambda: np.load(io.BytesIO(stored["npy"]), allow_pickle=False),
        "npz": lambda: np.load(io.BytesIO(stored["npz"]))["mask"],
    }, repeat=5)
    assert np.array_equal(decode_mask(stored["ours"], SHAPE), mask)
    names = {"ours": "ours: encode_mask (packbits + zstd 3)", "npy": "np.save raw bool",
             "npz": "np.savez_compressed (zlib)"}
    return [[names[k], len(stored[k]), f"{len(stored[k]) / len(stored['ours']):.1f}x", encode[k], decode[k],
             f"{encode[k] / encode['ours']:.1f}x", f"{decode[k] / decode['ours']:.1f}x"] for k in names]


def _timed_save(edit: editing.EditSession, actor: User) -> float:
    with session_scope() as s:
        start = time.perf_counter()
        result = edit.save(s, actor=actor)
        ms = (time.perf_counter() - start) * 1000
    assert result is not None and result.saved
    return ms


# ---- 2. memory per open session


def bench_memory(root: Path, count: int) -> None:
    mask_bytes = math.prod(SHAPE)
    with world(root, "sqlite", 2 * count) as w:
        fresh, reopened = w.annotation_ids[:count], w.annotation_ids[count:]
        saved_mask = np.zeros(SHAPE, bool)
        holder = MaskEditor(saved_mask, _volume(w))
        for op in organ_ops(np.random.default_rng(1)):
            holder.apply(op)
        for person, annotation_id in zip(w.annotators[count:], reopened, strict=True):
            with session_scope() as s:  # a saved revision to reopen
                revisions.save_mask(s, actor=person, annotation_id=annotation_id, mask=saved_mask)
        del holder, saved_mask
        rows = []
        for name, people, ids in (("new annotation", w.annotators[:count], fresh),
                                  ("reopened (saved revision, 3.5 % fg)", w.annotators[count:], reopened)):
            rows.append(_open_many(name, people, ids, mask_bytes))
    print(f"\n{count} sessions per row over one cached {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} float32 volume "
          f"({math.prod(SHAPE) * 4 / MiB:.0f} MiB, loaded before); mask = {mask_bytes / MiB:.1f} MiB\n")
    print_table(["sessions", "retained MiB/session", "retained - mask KiB", "retained / mask",
                 "peak in open_edit MiB",
                 "peak / mask", "RSS MiB/session after open", "RSS MiB/session after 1 stroke each",
                 "open_edit ms"], rows)


def _open_many(name: str, people: list[User], ids: list[int], mask_bytes: int) -> list[object]:
    sessions: list[editing.EditSession] = []
    gc.collect()
    tracemalloc.start()
    base_traced, rss0 = tracemalloc.get_traced_memory()[0], _rss()
    peaks, times = [], []
    for n, (person, annotation_id) in enumerate(zip(people, ids, strict=True)):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        with session_scope() as s:
            sessions.append(editing.open_edit(s, actor=person, annotation_id=annotation_id,
                                              holder=f"{name}-{n}"))
        times.append((time.perf_counter() - start) * 1000)
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
    gc.collect()
    retained = (tracemalloc.get_traced_memory()[0] - base_traced) / len(ids)
    tracemalloc.stop()
    rss_open = (_rss() - rss0) / len(ids)
    for n, (edit, person) in enumerate(zip(sessions, people, strict=True)):
        points = _walk(np.random.default_rng(n), start=(256.0, 256.0), count=31, step=4.0)
        _apply_all(edit, person, _stroke_ops("draw", 150, points, radius_mm=4.0))
    rss_stroke = (_rss() - rss0) / len(ids)
    for edit in sessions:
        with session_scope() as s:
            edit.close(s)
    return [f"{name} x{len(ids)}", retained / MiB, (retained - mask_bytes) / 1024,
            f"{retained / mask_bytes:.2f}x", max(peaks) / MiB,
            f"{max(peaks) / mask_bytes:.2f}x", rss_open / MiB, rss_stroke / MiB, statistics.median(times)]


def _volume(w: World) -> Volume:
    with session_scope() as s:
        return load_volume(s, w.series_uid)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ---- 3. many annotators at once


@dataclass(kw_only=True)
class Run:
    acks: list[float]  # per frame: ms from its scheduled send time to its acknowledgement
    service: list[float]  # per apply call: ms inside it (after the tab's queue)
    offered: int  # frames sent
    seconds: float
    cpu: float  # process CPU seconds over the run (all threads; not the database server)


def bench_crowd(root: Path, count: int, seconds: float) -> None:
    rows = []
    pool_size = concurrent.futures.ThreadPoolExecutor()._max_workers  # run.io_bound's pool
    plans = [
        ("1 annotator alone (baseline)", 1, None, False),
        (f"{count} annotators, a thread each", count, None, False),
        (f"{count} annotators, pool of {pool_size} as run.io_bound", count, pool_size, False),
        (f"{count}, pool of {pool_size}, a tab's waiting frames merged (as the page does)", count, pool_size,
         True),
    ]
    for db in ("sqlite", "postgresql"):
        with world(root, db, count) as w:
            sessions = []
            for n, (person, annotation_id) in enumerate(zip(w.annotators, w.annotation_ids, strict=True)):
                with session_scope() as s:
                    sessions.append(editing.open_edit(s, actor=person, annotation_id=annotation_id,
                                                      holder=f"tab-{n}"))
            results = []
            for turn, (name, n, pool, merge) in enumerate(plans):  # each run paints slices of its own
                results.append((name, _paint(w, sessions[:n], seconds, pool, turn, merge)))
            alone = _percentile(results[0][1].acks, 95)
            for name, run in results:
                p95 = _percentile(run.acks, 95)
                rows.append([db, name, f"{len(run.acks)}/{run.offered}", len(run.service),
                             len(run.acks) / run.seconds, _percentile(run.acks, 50), p95, max(run.acks),
                             _percentile(run.service, 50), run.cpu / len(run.service) * 1000,
                             f"{run.cpu / run.seconds:.2f}", f"{p95 / alone:.1f}x"])
            for edit in sessions:
                with session_scope() as s:
                    edit.close(s)
    print(f"\nBrush strokes at {RATE_HZ:g} frames/s per annotator for {seconds:g} s (2 new points per "
          f"frame, r 4 mm, a new stroke every second), {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} image, "
          f"{os.cpu_count()} cores\n")
    print_table(["db", "who", "frames acked/sent", "apply calls", "frames/s", "ack p50 ms", "ack p95 ms",
                 "ack max ms", "apply p50 ms", "CPU ms/apply", "CPU s/s", "p95 / alone"], rows)


def _paint(w: World, sessions: list[editing.EditSession], seconds: float, pool_size: int | None,
           turn: int, merge: bool) -> Run:
    """Each tab sends a frame every 1/60 s and, as the page does, awaits one op before the next
    (its lock), so a late op delays the frames behind it: acks are timed from the send time.
    With ``merge`` the frames of one stroke that wait behind the tab's op in flight go as one op."""
    frames = int(seconds * RATE_HZ)
    plans = [_annotator_frames(np.random.default_rng([turn, n]), 5 + 4 * n + turn, frames)
             for n in range(len(sessions))]
    acks: list[float] = []
    service: list[float] = []
    lock = threading.Lock()
    pool = concurrent.futures.ThreadPoolExecutor(pool_size) if pool_size else None
    start_at = time.perf_counter() + 0.5

    def apply(edit: editing.EditSession, actor: User, op: EditOp, group: object) -> float:
        started = time.perf_counter()
        with session_scope() as s:
            edit.apply(s, actor=actor, op=op, group=group)  # a stroke's batches: one undo step
        return (time.perf_counter() - started) * 1000

    def annotator(n: int) -> None:
        edit, actor, plan = sessions[n], w.annotators[n], plans[n]
        offset = n / (RATE_HZ * len(sessions))  # the tabs' frames are not in step

        def due(k: int) -> float:
            return start_at + offset + k / RATE_HZ

        mine_ack, mine_service = [], []
        k = 0
        while k < len(plan):
            time.sleep(max(0.0, due(k) - time.perf_counter()))
            j, now = k + 1, time.perf_counter()
            while merge and j < len(plan) and due(j) <= now and plan[j][0] == plan[k][0]:
                j += 1
            op, group = _merged([op for _, op in plan[k:j]]), (edit.holder, plan[k][0])
            took = (pool.submit(apply, edit, actor, op, group).result() if pool
                    else apply(edit, actor, op, group))
            acked = time.perf_counter()
            mine_ack += [(acked - due(i)) * 1000 for i in range(k, j)]
            mine_service.append(took)
            k = j
        with lock:
            acks.extend(mine_ack)
            service.extend(mine_service)

    threads = [threading.Thread(target=annotator, args=(n,)) for n in range(len(sessions))]
    cpu = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - start_at, time.process_time() - cpu
    if pool:
        pool.shutdown()
    return Run(acks=acks, service=service, offered=frames * len(sessions), seconds=elapsed, cpu=cpu)


def _annotator_frames(rng: np.random.Generator, index: int, frames: int) -> list[tuple[int, EditOp]]:
    """(stroke number, op) per frame: strokes of one second, 1 op to start + 59 of 2 points."""
    out: list[tuple[int, EditOp]] = []
    stroke = 0
    while len(out) < frames:
        points = _walk(rng, start=(rng.uniform(100, 400), rng.uniform(100, 400)), count=119, step=3.0)
        out += [(stroke, op) for op in _stroke_ops("draw", index, points, radius_mm=4.0)]
        stroke += 1
    return out[:frames]


def _merged(ops: list[EditOp]) -> EditOp:
    """Consecutive frames of one stroke as one op (each frame starts at the previous one's end)."""
    if len(ops) == 1:
        return ops[0]
    points = list(ops[0].points) + [p for op in ops[1:] for p in op.points[1:]]
    first = ops[0]
    return EditOp(tool=first.tool, mode=first.mode, plane=first.plane, index=first.index, points=points,
                  radius_mm=first.radius_mm)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["save", "memory", "crowd"],
                        choices=["save", "memory", "crowd"])
    parser.add_argument("--sessions", type=int, default=8, help="memory: sessions per kind")
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=4.0, help="crowd: painting time per run")
    args = parser.parse_args()
    # as the tests do: many users are created, the algorithm stays, its cost is minimal
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with tempfile.TemporaryDirectory(prefix="bench-annotator-") as tmp:
        root = Path(tmp)
        for part in args.parts:
            print(f"\n== {part}")
            if part == "save":
                bench_save(root)
            elif part == "memory":
                bench_memory(root, args.sessions)
            else:
                bench_crowd(root, args.annotators, args.seconds)


if __name__ == "__main__":
    main()
