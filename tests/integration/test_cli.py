"""The `labelstack` command as an operator uses it, including bad settings at start."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from tests.services import postgres_database


def labelstack(*args: str, data_dir: Path, env: dict[str, str] | None = None,
               input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LABELSTACK_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "labelstack", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=full_env, input=input, timeout=120)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_env(request: pytest.FixtureRequest):
    if request.param == "sqlite":
        yield {}
    else:
        with postgres_database() as url:
            yield {"LABELSTACK_DATABASE_URL": url}


def test_users_create_and_list(tmp_path: Path, db_env: dict[str, str]) -> None:
    r = labelstack("users", "create", "Ada@Example.org", "--password", "long-enough-1",
                   "--role", "admin", "--role", "reviewer", "--name", "Ada", data_dir=tmp_path,
                   env=db_env)
    assert r.returncode == 0, r.stderr
    assert "created ada@example.org (admin,reviewer)" in r.stdout
    listed = labelstack("users", "list", data_dir=tmp_path, env=db_env)
    assert listed.returncode == 0
    assert "ada@example.org" in listed.stdout and "admin,reviewer" in listed.stdout


@pytest.mark.parametrize("args,message", [
    (["--password", "short", "--role", "admin"], "at least 8 characters"),
    (["--password", "long-enough-1", "--role", "wizard"], "'wizard' is not one of"),
])
def test_users_create_refuses_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    r = labelstack("users", "create", "x@example.org", *args, data_dir=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr


def test_users_create_refuses_a_duplicate(tmp_path: Path) -> None:
    args = ("users", "create", "dup@example.org", "--password", "long-enough-1", "--role", "admin")
    assert labelstack(*args, data_dir=tmp_path).returncode == 0
    r = labelstack(*args, data_dir=tmp_path)
    assert r.returncode == 2
    assert "error: a user with e-mail dup@example.org already exists" in r.stderr


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    before = labelstack("db", "current", data_dir=tmp_path)
    assert before.returncode == 0 and "(empty)" in before.stdout
    assert labelstack("db", "upgrade", data_dir=tmp_path).returncode == 0
    after = labelstack("db", "current", data_dir=tmp_path)
    assert "up to date" in after.stdout


def test_unreachable_database_fails_at_start_with_one_message(tmp_path: Path) -> None:
    r = labelstack("serve", "--port", "1", data_dir=tmp_path,
                   env={"LABELSTACK_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none"})
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: cannot reach the database at postgresql://nobody:***@127.0.0.1:1")
    assert "secret" not in r.stderr


def test_unwritable_data_dir_fails_at_start_with_one_message(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    r = labelstack("serve", data_dir=blocker / "data")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "is not a writable directory" in lines[0]


def test_import_reports_a_conflicting_file_with_its_reason(tmp_path: Path) -> None:
    """Same SOPInstanceUID, other content: reported as a conflict, not as already present."""
    from pydicom import dcmread

    from labelstack.imaging.phantom import write_ct_series

    (first,) = write_ct_series(tmp_path / "ct", shape=(1, 8, 8), patient_id="CLI")
    data = tmp_path / "data"
    assert labelstack("import", str(first), data_dir=data).returncode == 0
    other = dcmread(first)
    other.PixelData = bytes(len(other.PixelData))
    other.save_as(tmp_path / "other.dcm")
    r = labelstack("import", str(tmp_path / "other.dcm"), data_dir=data)
    assert r.returncode == 1
    assert "conflict " in r.stdout and "0 stored, 0 already present, 1 in conflict" in r.stdout


def test_a_bad_trusted_proxies_setting_fails_at_start_with_one_message(tmp_path: Path) -> None:
    r = labelstack("db", "upgrade", data_dir=tmp_path,
                   env={"LABELSTACK_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"})
    assert r.returncode == 2
    assert "trusted_proxies" in r.stderr and "'proxy.local' is not an IP address" in r.stderr


def test_backup_then_restore_into_an_empty_data_dir(tmp_path: Path, db_env: dict[str, str]) -> None:
    from labelstack.imaging.phantom import write_ct_series

    data = tmp_path / "data"
    files = write_ct_series(tmp_path / "ct", shape=(3, 8, 8), patient_id="CLI")
    assert labelstack("users", "create", "ada@example.org", "--password", "long-enough-1",
                      "--role", "admin", data_dir=data, env=db_env).returncode == 0
    assert labelstack("import", *map(str, files), data_dir=data, env=db_env).returncode == 0
    (data / "secret.key").write_text("signs-the-browser-sessions")  # as `serve` makes it
    r = labelstack("backup", str(tmp_path / "backup"), data_dir=data, env=db_env)
    assert r.returncode == 0, r.stderr
    assert "3 image file(s)" in r.stdout
    with postgres_database() if db_env else nullcontext(None) as url:
        restored_env = {"LABELSTACK_DATABASE_URL": url} if url else {}
        r = labelstack("restore", str(tmp_path / "backup"), data_dir=tmp_path / "restored",
                       env=restored_env)
        assert r.returncode == 0, r.stderr
        assert "restored 1 user(s), 1 series" in r.stdout
        listed = labelstack("users", "list", data_dir=tmp_path / "restored", env=restored_env)
        assert "ada@example.org" in listed.stdout
    assert (tmp_path / "restored" / "secret.key").read_text() == (data / "secret.key").read_text()
    assert len(list((tmp_path / "restored" / "dicom").rglob("*.dcm"))) == 3


def test_restore_refuses_a_data_dir_that_is_not_empty(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert labelstack("db", "upgrade", data_dir=data).returncode == 0
    assert labelstack("backup", str(tmp_path / "backup"), data_dir=data).returncode == 0
    r = labelstack("restore", str(tmp_path / "backup"), data_dir=data)
    assert r.returncode == 2
    assert f"error: the data dir {data.resolve()} is not empty: give a new or empty directory" \
        in r.stderr
