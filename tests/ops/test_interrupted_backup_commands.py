"""A drill or restore killed half-way leaves no key material, agent or scratch database.

Real subprocesses, stopped while pg_restore runs (a stand-in on PATH that waits), so the
private key is imported, the agent holds the unlocked key and the scratch database exists.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from ops.models import BackupRun
from tests.ops.backup_helpers import only_set
from tests.ops.conftest import (
    BASE_DIR,
    DB_PREFIX,
    PASSPHRASE,
    GpgKeys,
    database_url,
    empty_database,  # noqa: F401 - fixture
    scratch_databases,
)

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def agents_for(home: Path) -> list[int]:
    """gpg-agent processes serving ``home`` (what would decrypt with the cached key)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gpg-agent") and str(home).encode() in argv:
            pids.append(int(proc.name))
    return pids


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A PATH with a pg_restore that records that it ran and then waits; its temp directory."""
    bin_dir, tmp = tmp_path / "bin", tmp_path / "tmp"
    bin_dir.mkdir()
    tmp.mkdir()
    marker = tmp_path / "pg_restore.pid"
    script = bin_dir / "pg_restore"
    script.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 120\n")
    script.chmod(0o755)
    yield bin_dir, tmp
    if marker.exists():  # the stand-in may outlive a SIGKILLed parent
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(marker.read_text()), signal.SIGKILL)


@pytest.fixture
def drill_env(backup_settings, gpg_keys: GpgKeys, ticket_a) -> dict[str, str]:
    call_command("backup", stdout=io.StringIO())
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(connection.settings_dict["NAME"]),
        BACKUP_DIR=str(backup_settings.BACKUP_DIR),
        BACKUP_GPG_PUBLIC_KEY_FILE=str(gpg_keys.public),
        BACKUP_GPG_PRIVATE_KEY_FILE=str(gpg_keys.secret),
        BACKUP_GPG_PASSPHRASE=PASSPHRASE,
        BACKUP_SCRATCH_DB_PREFIX=f"{DB_PREFIX}verify",
    )
    env.pop("BACKUP_GPG_PASSPHRASE_FILE", None)
    return env


def start(args: list[str], env: dict[str, str], bin_dir: Path, tmp: Path) -> subprocess.Popen:
    env = {**env, "PATH": f"{bin_dir}:{env['PATH']}", "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stalled_in_pg_restore(
    proc: subprocess.Popen, tmp: Path, *, scratch: bool
) -> tuple[Path, list[int]]:
    """Wait until the run decrypts: its keyring, its running agent (and scratch database)."""
    marker = tmp.parent / "pg_restore.pid"
    wait_for(lambda: marker.exists() or proc.poll() is not None, "pg_restore to start")
    assert proc.poll() is None, proc.communicate()
    homes = list(tmp.glob("ts-gnupg-*"))
    assert len(homes) == 1
    assert any(homes[0].rglob("*.key"))  # the imported private key
    wait_for(lambda: agents_for(homes[0]), "the gpg-agent")
    if scratch:
        assert len(scratch_databases()) == 1
    return homes[0], agents_for(homes[0])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_drill_stopped_by_a_signal_removes_its_key_agent_and_scratch_database(
    drill_env, stalled, signum
):
    bin_dir, tmp = stalled
    proc = start(["verifybackup", "--latest"], drill_env, bin_dir, tmp)
    home, agents = stalled_in_pg_restore(proc, tmp, scratch=True)

    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 128 + signum
    assert f"restore drill interrupted by {signal.Signals(signum).name}" in stderr
    assert "Traceback" not in stderr
    assert not home.exists()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in agents), "agent to stop")
    assert scratch_databases() == []
    run = BackupRun.objects.get(kind=BackupRun.Kind.VERIFY)
    assert run.ok is False and "interrupted by" in run.message


def test_a_restore_stopped_by_sigterm_removes_its_key_and_agent(
    drill_env,
    stalled,
    empty_database,  # noqa: F811
):
    bin_dir, tmp = stalled
    directory = Path(drill_env["BACKUP_DIR"])
    manifest = directory / f"{only_set(directory)}.manifest.json"
    proc = start(
        ["restorebackup", str(manifest), "--database", empty_database], drill_env, bin_dir, tmp
    )
    home, agents = stalled_in_pg_restore(proc, tmp, scratch=False)

    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 128 + signal.SIGTERM
    assert "restore interrupted by SIGTERM" in stderr
    assert not home.exists()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in agents), "agent to stop")


def test_the_next_drill_sweeps_what_a_sigkilled_drill_left(drill_env, stalled):
    bin_dir, tmp = stalled
    proc = start(["verifybackup", "--latest"], drill_env, bin_dir, tmp)
    home, agents = stalled_in_pg_restore(proc, tmp, scratch=True)

    proc.kill()  # SIGKILL: no cleanup can run
    proc.communicate(timeout=60)
    assert home.exists() and agents_for(home) and len(scratch_databases()) == 1

    env = {**drill_env, "TMPDIR": str(tmp)}
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "verifybackup", "--latest"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert not home.exists()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in agents), "agent to stop")
    assert scratch_databases() == []
    assert list(tmp.glob("ts-gnupg-*")) == []
