"""manage.py's entry point: Django's own, with failures that cron can read.

Cron mails or logs whatever a job writes to stderr, so every failure is one line and a
non-zero exit, never a traceback or a page of usage text:

- a usage error names the problem in one line (``--help`` still shows the usage);
- an argument that is not valid UTF-8 (undecodable bytes from the shell) is refused before
  a command sees it: it could only fail later, deep inside a query or a hash;
- a database that cannot be reached (or fails underneath a command) is one line naming it;
- a file or directory that cannot be read or written (a read-only DATA_DIR, a full disk) is
  one line naming the path; a prompt with no terminal to answer it (``changepassword``
  under cron) is one line saying so.

``--traceback`` shows everything instead, as Django documents.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from django.core.management import base, execute_from_command_line
from django.db import InterfaceError, OperationalError


class OneLineErrorParser(base.CommandParser):
    """Django's command parser, with a usage error in one line."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        super().error(message)  # call_command(): a CommandError, as Django does


def _undecodable(argv: list[str]) -> str | None:
    for arg in argv[1:]:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg
    return None


# Commands that only ask on a terminal (Django's changepassword, through getpass): without one
# they would print warnings and a prompt before failing, so they are refused up front.
NEEDS_TERMINAL = frozenset({"changepassword"})


def _interactive(argv: list[str]) -> bool:
    if "--help" in argv or "-h" in argv:
        return True
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # no stdin at all, or a closed one
        return False


def _reason(exc: BaseException) -> str:
    """One line for a failure no command turned into a CommandError."""
    if isinstance(exc, EOFError):
        return "no terminal to answer the prompt (stdin is closed)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, OperationalError | InterfaceError):
        return f"database error: {first}"
    return first


def main(argv: list[str]) -> None:
    """Run a management command as ``manage.py`` does, with one-line failures."""
    prog = f"{argv[0] if argv else 'manage.py'} {argv[1] if len(argv) > 1 else ''}".strip()
    if (bad := _undecodable(argv)) is not None:
        sys.stderr.write(f"{prog}: error: an argument is not valid UTF-8: {bad!r}\n")
        sys.exit(2)
    if argv[1:2] and argv[1] in NEEDS_TERMINAL and not _interactive(argv):
        sys.stderr.write(f"{prog}: error: needs a terminal to ask for the password\n")
        sys.exit(1)
    # BaseCommand.create_parser() builds every command's parser from this name.
    base.CommandParser = OneLineErrorParser  # type: ignore[misc]
    try:
        execute_from_command_line(argv)
    except (OperationalError, InterfaceError, OSError, EOFError) as exc:
        if "--traceback" in argv:
            raise
        sys.stderr.write(f"CommandError: {_reason(exc)}\n")
        sys.exit(1)
