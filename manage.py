#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
    from ticketsystem.cli import main as run  # Django's, with one-line failures for cron

    run(sys.argv)


if __name__ == "__main__":
    main()
