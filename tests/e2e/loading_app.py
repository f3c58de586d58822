"""The real LabelStack app whose local store holds series reads back (`tests/held_store.py`), so
the browser tests see a series that is still loading for as long as they need.

Run: ``python -m tests.e2e.loading_app PORT DATA_DIR``. It creates an admin who also
annotates (`EMAIL` / `PASSWORD`), a generated CT series (`SERIES_UID`, `SLICES` slices) and
an annotation task of that admin on it (`TASK_NAME`), then serves. Each series read stops
after `HOLD_AFTER` instances until ``POST /test/release`` (or fails with ``POST
/test/fail?reason=…``); ``POST /test/forget`` empties the volume caches and holds the next
read again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.processes import stop, wait_until_answering

EMAIL, PASSWORD = "loading-admin@example.org", "loading-admin-pw"
SERIES_UID = "1.2.826.0.1.3680043.8.498.5151"
SLICES, HOLD_AFTER = 40, 12
TASK_NAME = "Outline the liver"


@contextmanager
def running(data_dir: Path, port: int) -> Iterator[str]:
    """Start the app in a subprocess; yields its URL once it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    root = Path(__file__).resolve().parents[2]
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.loading_app", str(port), str(data_dir)],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/v1/health", proc, data_dir / "server.log",
                             name="loading app", timeout=120, interval=0.3)
        yield url
    finally:
        if proc.poll() is None:  # no read left waiting for a release
            httpx.post(f"{url}/test/release", timeout=5)
        stop(proc)
        log.close()


def main(port: int, data_dir: Path) -> None:
    import shutil

    from nicegui import app
    from sqlmodel import select

    from labelstack.app import prepare, run
    from labelstack.config import Settings
    from labelstack.db.enums import TaskStatus, TaskType
    from labelstack.db.models import LabelAssignment, Series
    from labelstack.db.session import session_scope
    from labelstack.imaging.phantom import write_ct_series
    from labelstack.services.accounts import users
    from labelstack.services.accounts.users import UserCreate
    from labelstack.services.images import importing, runtime
    from labelstack.services.images.sources import sources_from_paths
    from labelstack.services.labels import catalog as labels
    from labelstack.services.labels.catalog import AssignmentCreate, LabelCreate
    from labelstack.services.workflow import transitions
    from labelstack.services.workflow.transitions import TaskCreate
    from tests.held_store import HeldStore

    settings = Settings(data_dir=data_dir / "data")
    prepare(settings)
    paths = write_ct_series(data_dir / "ct", shape=(SLICES, 256, 256), spacing=(2.5, 0.8, 0.8),
                            series_uid=SERIES_UID, patient_id="LOADING-1", shuffle=True)
    with session_scope() as session:
        admin = users.create_user(session, actor=None, data=UserCreate(
            email=EMAIL, password=PASSWORD, roles=["admin", "annotator"]))
        importing.import_dicom(session, actor=None, sources=sources_from_paths(paths))
        label = labels.create_label(session, actor=admin, data=LabelCreate(name="Liver",
                                                                           color="#c2410c"))
        series_id = session.exec(select(Series.id)).one()
        labels.assign_label(session, actor=admin, data=AssignmentCreate(
            label_id=label.id, series_ids=[series_id]))
        assignment = session.exec(select(LabelAssignment)).one()
        task = transitions.create_task(session, actor=admin, data=TaskCreate(
            type=TaskType.annotation, name=TASK_NAME, assignee_id=admin.id,
            label_assignment_ids=[assignment.id]))
        transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.in_progress)
    store = HeldStore(settings.data_dir / "dicom", hold_after=HOLD_AFTER)
    runtime.store = lambda name=None: store  # type: ignore[assignment]

    @app.post("/test/release")
    def release() -> dict[str, int]:
        store.release.set()
        return {"series_reads": store.series_reads}

    @app.post("/test/fail")
    def fail(reason: str) -> dict[str, int]:
        store.fail = reason
        store.release.set()
        return {"series_reads": store.series_reads}

    @app.post("/test/forget")
    def forget() -> dict[str, int]:
        store.fail = None
        store.release.clear()
        runtime.reset_cache()
        shutil.rmtree(settings.data_dir / "cache" / "volumes", ignore_errors=True)
        return {"series_reads": store.series_reads}

    run(settings, host="127.0.0.1", port=port)


if __name__ in {"__main__", "__mp_main__"}:
    main(int(sys.argv[1]), Path(sys.argv[2]))
