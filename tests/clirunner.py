"""Run management commands through manage.py's entry point, in this one process, and print
each one's exit status and output as a JSON line: what cron would see, without paying for a
new Python process per command. Used by the command sweep with an unreachable database.

    python -m tests.clirunner '[["backup"], ["unlock", "bob"]]'
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from typing import Any


def run(argv: list[str]) -> dict[str, Any]:
    """One command line (without the program name): exit status, stdout, stderr, and the
    traceback of anything that escaped the entry point."""
    from django.db import connections

    from ticketsystem.cli import main

    out, err = io.StringIO(), io.StringIO()
    code, escaped = 0, ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["manage.py", *argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(bool(exc.code))
        except BaseException as exc:  # what would reach the terminal as a traceback
            code, escaped = 1, "".join(traceback.format_exception(exc))
    connections.close_all()
    return {
        "argv": argv,
        "code": code,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "traceback": escaped,
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
    for command in json.loads(sys.argv[1]):
        print(json.dumps(run(command)), flush=True)
