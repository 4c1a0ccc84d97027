"""manage.py's entry point: Django's own, with failures that cron can read.

Cron mails or logs whatever a job writes to stderr, so every failure is one line and a
non-zero exit, never a traceback or a page of usage text:

- a usage error names the problem in one line (``--help`` still shows the usage);
- an argument that is not valid UTF-8 (undecodable bytes from the shell) is refused before
  a command sees it: it could only fail later, deep inside a query or a hash;
- a database that cannot be reached (or fails underneath a command) is one line naming it.

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


def main(argv: list[str]) -> None:
    """Run a management command as ``manage.py`` does, with one-line failures."""
    prog = f"{argv[0] if argv else 'manage.py'} {argv[1] if len(argv) > 1 else ''}".strip()
    if (bad := _undecodable(argv)) is not None:
        sys.stderr.write(f"{prog}: error: an argument is not valid UTF-8: {bad!r}\n")
        sys.exit(2)
    # BaseCommand.create_parser() builds every command's parser from this name.
    base.CommandParser = OneLineErrorParser  # type: ignore[misc]
    try:
        execute_from_command_line(argv)
    except (OperationalError, InterfaceError) as exc:
        if "--traceback" in argv:
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"CommandError: database error: {reason}\n")
        sys.exit(1)
