"""Run daphne with an access log that never records query strings.

Searches are GET requests (``/tickets/?q=…``, the admin's contact search by e-mail), so a
query string can hold personal data; access logs keep the method, path, status and size
only. Use it wherever daphne would be started::

    python -m ticketsystem.serve --bind 0.0.0.0 --port 8000 ticketsystem.asgi:application

It takes daphne's own options. nginx logs without query strings too
(ops/deploy/nginx/templates/ticketsystem.conf.template, ``log_format ticketsystem``).
"""

from __future__ import annotations

import sys
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server


def without_query(path: str) -> str:
    """The path up to its query string (a marker says one was there)."""
    head, separator, _ = path.partition("?")
    return f"{head}?-" if separator else head


class QueryFreeLogServer(Server):
    """daphne's server, handing its access logger paths without query strings."""

    def log_action(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if "path" in details:
            details = {**details, "path": without_query(str(details["path"]))}
        super().log_action(protocol, action, details)


class QueryFreeLogCommandLine(CommandLineInterface):
    server_class = QueryFreeLogServer


def main(argv: list[str] | None = None) -> None:
    QueryFreeLogCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
