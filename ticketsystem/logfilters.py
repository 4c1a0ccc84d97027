"""Logging filters: ordinary refusals (403, 404) as one line, not a traceback."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404


class OneLineRefusals(logging.Filter):
    """On ``django.request``: drop the traceback of a PermissionDenied or Http404 (the
    request line and status stay); other errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PermissionDenied | Http404):
            record.exc_info = None
            record.exc_text = None
        return True
