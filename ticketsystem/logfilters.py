"""Logging filters: the request id on every record of a request, one traceback per distinct
error per minute (a database outage must not log a traceback per request), and ordinary
refusals (403, 404) as one line, not a traceback."""

from __future__ import annotations

import logging
import threading
import time
from contextvars import ContextVar

from django.core.exceptions import PermissionDenied
from django.http import Http404

# Set by ticketsystem.middleware.RequestIdMiddleware for the duration of a request.
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")

REPEAT_WINDOW_SECONDS = 60


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the X-Request-ID shown on the 500 page; "-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class RepeatedTracebackFilter(logging.Filter):
    """Keeps the first traceback of each distinct error per minute; repeats stay one line.

    Errors are the same when type, message and the raising line are: the line still carries
    its request id, so an incident id leads to the log line and to the traceback above it.
    """

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.lock = threading.Lock()
        self.seen: dict[tuple[str, ...], float] = {}

    @staticmethod
    def _key(record: logging.LogRecord) -> tuple[str, ...]:
        exc_type, exc, tb = record.exc_info  # type: ignore[misc]
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
        return (record.name, getattr(exc_type, "__qualname__", ""), str(exc)[:200], where)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[0] is None:
            return True
        key = self._key(record)
        now = time.monotonic()
        with self.lock:
            if len(self.seen) > 1000:  # forget old errors; the table stays small
                self.seen = {k: t for k, t in self.seen.items() if now - t < REPEAT_WINDOW_SECONDS}
            last = self.seen.get(key)
            repeat = last is not None and now - last < REPEAT_WINDOW_SECONDS
            if not repeat:
                self.seen[key] = now
        if repeat:
            record.msg = f"{record.getMessage()} ({key[1]}: {key[2]}; traceback logged earlier)"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class OneLineRefusals(logging.Filter):
    """On ``django.request``: drop the traceback of a PermissionDenied or Http404 (the
    request line and status stay); other errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PermissionDenied | Http404):
            record.exc_info = None
            record.exc_text = None
        return True
