"""Every management command of the project, through manage.py's own entry point, with
missing, garbage and undecodable arguments, files and users that do not exist, places it
cannot write, and a database that cannot be reached: a non-zero exit, exactly one line on
stderr, never a traceback, and nothing saved.

The command list comes from Django's registry, so a new command fails here until it has
bad input of its own below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import get_commands
from django.db import connections
from django.test import override_settings

from audit.events import record_event
from tests.clirunner import run
from tests.conftest import make_user
from tests.helpers import db_fingerprint
from tests.live.daphne import free_port
from tickets import services

ROOT = Path(__file__).resolve().parent.parent
OUR_APPS = {"accounts", "audit", "ops", "tickets", "ticketsystem"}
COMMANDS = sorted(name for name, app in get_commands().items() if app in OUR_APPS)
HUGE = "9" * 40
# A byte that is not UTF-8, as Python hands it over from the shell's argv.
UNDECODABLE = b"\xff".decode("utf-8", "surrogateescape")
MISSING_MANIFEST = "/nonexistent/ticketsystem-20260101T000000Z.manifest.json"

BAD_INPUT: dict[str, list[list[str]]] = {
    "bootstrapadmin": [["--bogus"], ["--username"]],
    "createstaff": [
        [],
        ["bob"],
        ["bob", "--role", "wizard"],
        ["bob", "--role", "agent", "--password-file", "/nonexistent"],
        ["bob", "--role", "agent", "--password-file", "/etc"],
        ["bob", "--role", "agent", "--password-file", "{short_password}"],
        ["bad name!", "--role", "agent", "--password-file", "{password}"],
        ["x" * 200, "--role", "agent", "--password-file", "{password}"],
        ["bob", "--role", "agent", "--email", "not-an-email", "--password-file", "{password}"],
        ["alice", "--role", "agent", "--password-file", "{password}"],  # exists already
        ["bob", "--role", "agent"],  # no terminal to ask for the password
    ],
    "resettwofactor": [[], ["nobody"], ["x" * 5000], ["a", "b"]],
    # No terminal here: refused before the database (the prompts: test_changepassword_command).
    "changepassword": [["nobody"], ["x" * 5000], ["a", "b"], ["--bogus"]],
    "unlock": [[], ["--ip", "999.1.1.1"], ["--ip", "::g"], ["--ip"]],
    "backup": [["--keep-days", "0"], ["--keep-days", "abc"], ["--keep-days", HUGE], []],
    "verifybackup": [
        [],
        [MISSING_MANIFEST],
        ["/etc/passwd"],
        ["/etc"],
        ["--latest"],
        ["x", "--latest"],
    ],
    "restorebackup": [
        [],
        ["/etc/passwd"],
        [MISSING_MANIFEST, "--database", "postgres://nobody@127.0.0.1:1/x"],
        [MISSING_MANIFEST, "--database", "not a url"],
    ],
    "monitor": [["--bogus"], []],  # [] : no alert channel configured
    "securitycheck": [[], ["extra"]],  # the test settings are not fit for production
    "verifyaudit": [
        ["--batch-size", "0"],
        ["--batch-size", "x"],
        ["--checkpoint", "/dev/null/x"],
        ["--reanchor", ""],
        ["--reanchor", "x" * 5000],
        ["--reanchor"],
        ["--checkpoint", "/etc/passwd"],
        ["--checkpoint", "{infinite_checkpoint}"],
        ["--checkpoint", "{deep_checkpoint}"],
    ],
    "rotatekeys": [
        ["--batch-size", "0"],
        ["--batch-size", str(10**30)],
        ["--max-batches", "-1"],
        ["--batch-size", "abc"],
    ],
    "generatekey": [["--id", "bad id!"], ["--raw", "--id", "x"], ["--id", "x" * 40]],
    "exportperson": [
        [],
        ["--email", ""],
        ["--email", "nobody@example.org"],
        ["--contact-id", "abc"],
        ["--contact-id", HUGE],
        ["--email", "a@example.org", "--contact-id", "1"],
        ["--email", "ann@example.org", "--output", "/dev/null/x.json"],  # not a directory
        ["--email", "ann@example.org", "--output", "/proc/nope/x.json"],  # cannot be made
        ["--email", "ann@example.org", "--output", "/etc/passwd"],  # exists
    ],
    "eraseperson": [[], ["--contact-id", HUGE], ["--contact-id", "abc"], ["--email"]],
    "purge": [
        ["--closed-older-than", "abc"],
        ["--closed-older-than", "0d"],
        ["--closed-older-than", "99999999999y"],
        ["--batch-size", "0"],
    ],
    "seeddemo": [["--tickets", "0"], ["--tickets", "abc"], ["--agents", "-1"], ["--tickets", HUGE]],
    "receivemail": [[], ["--queue", "nosuch"], ["--queue"], ["--bogus"]],  # [] : empty stdin
    "fetchmail": [["--queue", "nosuch"], ["--queue"], ["--bogus"]],
    "reindex": [["--batch-size", "0"], ["--batch-size", HUGE], ["--after", "abc"], ["--bogus"]],
}
# What each command does when the database is down. Most fail in one line; these do their
# job without it: generatekey needs no database, and monitor's job is to say it is down.
WITHOUT_DATABASE: dict[str, list[str]] = {
    "bootstrapadmin": [],
    "createstaff": ["bob", "--role", "agent", "--password-file", "{password}"],
    "resettwofactor": ["bob"],
    "changepassword": ["bob"],
    "unlock": ["bob"],
    "backup": [],
    "verifybackup": ["--latest"],
    "restorebackup": [MISSING_MANIFEST, "--database", "postgres://nobody@127.0.0.1:1/x"],
    "monitor": ["--dry-run"],
    "securitycheck": [],
    "verifyaudit": [],
    "rotatekeys": [],
    "generatekey": [],
    "exportperson": ["--email", "ann@example.org"],
    "eraseperson": ["--email", "ann@example.org"],
    "purge": ["--dry-run"],
    "seeddemo": ["--tickets", "5"],
    "receivemail": [],
    "fetchmail": [],
    "reindex": [],
}
WORKS_WITHOUT_DATABASE = {"generatekey", "monitor"}
# Backup jobs record a failed run too, for monitoring to alert on: that is not a half-save.
RUN_RECORDS = {"ops_backuprun"}


def test_every_command_has_bad_input_here():
    assert sorted(BAD_INPUT) == COMMANDS
    assert sorted(WITHOUT_DATABASE) == COMMANDS


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    password = tmp_path / "password"
    password.write_text("violet-harbour-lantern-42\n")
    short = tmp_path / "short"
    short.write_text("short\n")
    infinite = tmp_path / "infinite-checkpoint.json"
    infinite.write_text('{"seq": 1e400, "hash": "x"}')
    deep = tmp_path / "deep-checkpoint.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    return {
        "password": str(password),
        "short_password": str(short),
        "infinite_checkpoint": str(infinite),
        "deep_checkpoint": str(deep),
    }


def _argv(args: list[str], files: dict[str, str]) -> list[str]:
    return [arg.format(**files) if arg.startswith("{") else arg for arg in args]


def _one_line_failure(result: dict[str, Any]) -> str | None:
    """What is wrong with a failed command's answer, if anything."""
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    if result["traceback"] or "Traceback" in result["stderr"]:
        return "a traceback: " + (result["traceback"] or result["stderr"])[-600:]
    if result["code"] == 0:
        return "exit status 0"
    if len(lines) != 1:
        return f"{len(lines)} lines on stderr: {result['stderr'][:600]!r}"
    return None


@pytest.fixture
def keep_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # manage.py closes every database connection after a command; in this process that is
    # the test's own connection, holding the test's transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As under cron: nobody to type a password."""
    with open(os.devnull) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        yield


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_bad_input_is_one_line_and_a_non_zero_exit(
    db, command, files, keep_test_connection, no_terminal
):
    agent = make_user("alice", "agent")
    services.contact_get_or_create(actor=agent, email="ann@example.org", name="Ann")
    record_event("login_failed", username="mallory", ip="192.0.2.1")  # an audit chain
    before = db_fingerprint(ignore=RUN_RECORDS)
    problems = []
    for args in BAD_INPUT[command]:
        result = run([command, *_argv(args, files)])
        if problem := _one_line_failure(result):
            problems.append(f"{command} {args}: {problem}")
    assert not problems, "\n".join(problems)
    assert db_fingerprint(ignore=RUN_RECORDS) == before  # nothing saved, whatever was refused


@pytest.mark.parametrize("command", COMMANDS)
def test_an_argument_that_is_not_utf8_is_refused_in_one_line(db, command, keep_test_connection):
    result = run([command, UNDECODABLE])
    assert _one_line_failure(result) is None, result
    assert result["code"] == 2
    assert "not valid UTF-8" in result["stderr"]


def test_an_empty_database_still_refuses_a_bad_first_admin(db, keep_test_connection):
    for username in ("", "x" * 200, "no spaces"):
        result = run(["bootstrapadmin", "--username", username])
        assert _one_line_failure(result) is None, result
        assert "CommandError: " in result["stderr"]
    assert not get_user_model().objects.exists()


def _closed_port() -> int:
    return free_port()  # nobody listens there once its probe socket is closed


def test_an_unreachable_database_is_one_line_for_every_command(files, tmp_path):
    """Each command through the real entry point, in a process whose DATABASE_URL points
    at a closed port."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_closed_port()}/ticketsystem",
        "SECURITY_LOG_FILE": str(tmp_path / "security.log"),
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    commands = [[name, *_argv(args, files)] for name, args in WITHOUT_DATABASE.items()]
    process = subprocess.run(
        [sys.executable, "-m", "tests.clirunner", json.dumps(commands)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    results = {r["argv"][0]: r for r in map(json.loads, process.stdout.splitlines())}
    assert sorted(results) == COMMANDS
    problems = []
    for name, result in results.items():
        if name in WORKS_WITHOUT_DATABASE:
            if result["code"] != 0 or result["traceback"]:
                problems.append(f"{name}: {result}")
        elif problem := _one_line_failure(result):
            problems.append(f"{name}: {problem}")
    assert not problems, "\n".join(problems)
    assert "[FIRING] database" in results["monitor"]["stdout"]
    assert "database error: connection failed" in results["backup"]["stderr"]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_manage_py_itself_answers_in_one_line():
    usage = _manage("createstaff", "bob", "--role", "wizard")
    assert usage.returncode == 2
    assert usage.stderr.splitlines() == [
        "manage.py createstaff: error: argument --role: invalid choice: 'wizard' "
        "(choose from 'agent', 'manager', 'admin') (see --help)"
    ]
    down = _manage("verifyaudit", DATABASE_URL=f"postgres://postgres@127.0.0.1:{_closed_port()}/x")
    assert down.returncode == 1
    assert len(down.stderr.splitlines()) == 1
    assert down.stderr.startswith("CommandError: database error: connection failed")


def test_the_traceback_option_still_shows_the_traceback():
    down = _manage(
        "verifyaudit",
        "--traceback",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{_closed_port()}/x",
    )
    assert down.returncode == 1
    assert "Traceback (most recent call last)" in down.stderr


def test_changepassword_without_a_terminal_is_one_line(db, keep_test_connection, no_terminal):
    make_user("zed")
    result = run(["changepassword", "zed"])
    assert _one_line_failure(result) is None, result
    assert (
        result["stderr"]
        == "manage.py changepassword: error: needs a terminal to ask for the password\n"
    )


def test_a_directory_that_cannot_be_written_is_one_line(db, keep_test_connection, tmp_path):
    # Any command (here Django's own collectstatic) meeting a read-only or unusable directory.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with override_settings(STATIC_ROOT=blocker / "static"):
        result = run(["collectstatic", "--noinput", "-v", "0"])
    assert _one_line_failure(result) is None, result
    assert result["stderr"] == f"CommandError: Not a directory: {blocker / 'static'}\n"
