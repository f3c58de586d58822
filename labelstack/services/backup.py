"""Backing up a running instance, and restoring a backup into an empty data dir.

The copy is consistent without stopping the server because of its order: the database is
copied first, as one snapshot (SQLite: the online backup API; PostgreSQL: `pg_dump` reading a
snapshot exported by the transaction that also lists the instances), and only then the store
files that snapshot indexes. Stores write a file before its index row commits, so every
instance in the snapshot already has its file when the copy reaches it; later imports are in
neither. A file deleted in between is listed as missing in the manifest.

A backup directory holds `manifest.json`, the database (`labelstack.db`, or `database.dump`
in pg_dump's custom format), the local store's files under `dicom/` and `secret.key` (it
signs browser sessions). Caches, browser sessions and temporary exports are left out; series
on a DICOMweb server are counted but stay there (back the PACS up on its own).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from psycopg import IsolationLevel

from labelstack import __version__
from labelstack.config import Settings
from labelstack.db import models
from labelstack.db.migrate import MIGRATIONS
from labelstack.services.errors import ServiceError
from labelstack.stores.local import LocalStore

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "labelstack.db"
DUMP_FILE = "database.dump"
STORE_DIR = "dicom"
SECRET_FILE = "secret.key"
LOCAL_KEYS = "SELECT i.store_key FROM instances i JOIN series s ON s.id = i.series_id " \
             "WHERE s.store = 'local' ORDER BY i.id"
REMOTE_COUNT = "SELECT count(*) FROM instances i JOIN series s ON s.id = i.series_id " \
               "WHERE s.store <> 'local'"


class BackupError(ServiceError):
    """A backup or restore that cannot be done as asked; the message says what to change."""

    status_code = 409


@dataclass(kw_only=True, slots=True)
class Manifest:
    format: int = FORMAT
    labelstack_version: str = __version__
    database: str  # "sqlite" | "postgresql"
    database_file: str
    alembic_revision: str | None
    counts: dict[str, int]
    store_files: int = 0
    store_bytes: int = 0
    missing_files: list[str] = field(default_factory=list)
    remote_instances: int = 0
    secret_key: bool = False
    tools: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True, slots=True)
class Restored:
    manifest: Manifest
    integrity: str  # "ok", or what SQLite's integrity_check found
    missing_files: list[str]


def backup(settings: Settings, dest: Path) -> Manifest:
    """Copy the database, then the files it indexes, into `dest` (absent or empty)."""
    dest = _empty_dir(dest, what="backup destination")
    url = sa.engine.make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        manifest, keys = _backup_sqlite(Path(url.database or ""), dest)
    else:
        manifest, keys = _backup_postgres(url, dest)
    store = LocalStore(settings.data_dir / STORE_DIR)
    copy = LocalStore(dest / STORE_DIR)
    for key in keys:
        source, target = store.path(key), copy.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(source, target)
        except FileNotFoundError:
            manifest.missing_files.append(key)
            continue
        manifest.store_files += 1
        manifest.store_bytes += target.stat().st_size
    secret = settings.data_dir / SECRET_FILE
    if secret.is_file():
        shutil.copy2(secret, dest / SECRET_FILE)
        manifest.secret_key = True
    (dest / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    return manifest


def restore(settings: Settings, source: Path) -> Restored:
    """Bring a backup into the configured (empty) data dir and database, then check it."""
    manifest = read_manifest(source)
    data_dir = _empty_dir(settings.data_dir, what="data dir")
    url = sa.engine.make_url(settings.resolved_database_url)
    if manifest.database != url.get_backend_name():
        raise BackupError(f"this backup holds a {manifest.database} database but the configured "
                          f"one is {url.get_backend_name()}: set LABELSTACK_DATABASE_URL to match")
    if manifest.database == "sqlite":
        target = Path(url.database or "")
        if target.exists():
            raise BackupError(f"{target} exists: restore only into an empty database")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / SQLITE_FILE, target)
        integrity, keys = _check_sqlite(target)
    else:
        _restore_postgres(url, source / DUMP_FILE)
        integrity, keys = "ok", _postgres_keys(url)  # pg_restore checked it, or failed
    if (source / STORE_DIR).is_dir():
        shutil.copytree(source / STORE_DIR, data_dir / STORE_DIR, dirs_exist_ok=True)
    if manifest.secret_key:
        shutil.copy2(source / SECRET_FILE, data_dir / SECRET_FILE)
        (data_dir / SECRET_FILE).chmod(0o600)
    store = LocalStore(data_dir / STORE_DIR)
    missing = [key for key in keys if not store.path(key).is_file()]
    return Restored(manifest=manifest, integrity=integrity, missing_files=missing)


def read_manifest(source: Path) -> Manifest:
    try:
        data = json.loads((source / MANIFEST).read_text())
        manifest = Manifest(**data)
    except FileNotFoundError:
        raise BackupError(f"{source} is not a backup: it has no {MANIFEST}") from None
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{source / MANIFEST} is not a LabelStack manifest: {exc}") from None
    if manifest.format != FORMAT:
        raise BackupError(f"backup format {manifest.format} is not supported (this version "
                          f"reads format {FORMAT})")
    if manifest.alembic_revision not in _known_revisions():
        raise BackupError(f"the backup's schema revision {manifest.alembic_revision} is unknown "
                          f"to LabelStack {__version__}: restore it with the version that made it")
    if not (source / manifest.database_file).is_file():
        raise BackupError(f"the backup lacks its database file {manifest.database_file}")
    return manifest


def _empty_dir(path: Path, *, what: str) -> Path:
    path = path.expanduser().resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"the {what} {path} is not empty: give a new or empty directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _backup_sqlite(path: Path, dest: Path) -> tuple[Manifest, list[str]]:
    """One backup step copies every page under one read transaction: a single snapshot, taken
    while writers go on (WAL)."""
    if not path.is_file():
        raise BackupError(f"no database at {path}: nothing to back up")
    source = sqlite3.connect(path, timeout=30)
    copy = sqlite3.connect(dest / SQLITE_FILE)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        counts, revision, keys = _inventory(copy.execute)
    finally:
        source.close()
        copy.close()
    return Manifest(database="sqlite", database_file=SQLITE_FILE, alembic_revision=revision,
                    counts=counts, tools={"sqlite": sqlite3.sqlite_version}), keys


def _backup_postgres(url: sa.URL, dest: Path) -> tuple[Manifest, list[str]]:
    """pg_dump reads the snapshot this transaction exports, so the dump and the list of files
    to copy are the same moment."""
    pg_dump = _tool("pg_dump")
    with psycopg.connect(_conninfo(url)) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot = _one(conn.execute("SELECT pg_export_snapshot()").fetchone())
        _run([pg_dump, "--format=custom", f"--file={dest / DUMP_FILE}", f"--snapshot={snapshot}",
              f"--dbname={_conninfo(url, password=False)}"], url)
        counts, revision, keys = _inventory(conn.execute)
        manifest = Manifest(database="postgresql", database_file=DUMP_FILE,
                            alembic_revision=revision, counts=counts,
                            tools={"pg_dump": _version(pg_dump)})
        manifest.remote_instances = _one(conn.execute(REMOTE_COUNT).fetchone())
    return manifest, keys


def _restore_postgres(url: sa.URL, dump: Path) -> None:
    pg_restore = _tool("pg_restore")
    with psycopg.connect(_conninfo(url)) as conn:
        tables = _one(conn.execute("SELECT count(*) FROM information_schema.tables "
                                   "WHERE table_schema = 'public'").fetchone())
    if tables:
        raise BackupError(f"the database {url.render_as_string()} has {tables} table(s): "
                          "restore only into an empty database")
    _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--dbname={_conninfo(url, password=False)}", str(dump)], url)


def _postgres_keys(url: sa.URL) -> list[str]:
    with psycopg.connect(_conninfo(url)) as conn:
        return [row[0] for row in conn.execute(LOCAL_KEYS)]


def _check_sqlite(path: Path) -> tuple[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        integrity = _one(conn.execute("PRAGMA integrity_check").fetchone())
        return integrity, [row[0] for row in conn.execute(LOCAL_KEYS)]
    finally:
        conn.close()


def _inventory(execute: Any) -> tuple[dict[str, int], str | None, list[str]]:
    """Row counts per table, the schema revision and the local store keys, all read in the
    caller's snapshot (`execute`: a DB-API connection's)."""
    counts = {table.name: _one(execute(f'SELECT count(*) FROM "{table.name}"').fetchone())
              for table in models.SQLModel.metadata.sorted_tables}
    revision = execute("SELECT version_num FROM alembic_version").fetchone()
    return counts, revision[0] if revision else None, [row[0] for row in execute(LOCAL_KEYS)]


def _one(row: Iterable[Any] | None) -> Any:
    assert row is not None  # aggregate queries always answer one row
    return next(iter(row))


def _conninfo(url: sa.URL, *, password: bool = True) -> str:
    plain = url.set(drivername="postgresql")
    if not password:
        plain = plain.set(password=None)
    return plain.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools "
                          "(e.g. apt-get install postgresql-client) of the server's version")
    return found


def _run(command: list[str], url: sa.URL) -> None:
    """Run a PostgreSQL tool with the password in its environment, not its arguments."""
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {reason[-1] if reason else done.returncode}")


def _version(tool: str) -> str:
    return subprocess.run([tool, "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
