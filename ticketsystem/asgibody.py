"""Keep daphne's request bodies in memory and capped.

Twisted, under daphne, writes any request body over 100 kB (or of unknown length) to a
temporary file: an attachment would sit on disk in plaintext before the app encrypts it.
``keep_bodies_in_memory`` makes daphne's requests buffer in memory up to the cap, drop the
bytes past it, and answer 413 instead of running the app. Called by ticketsystem/asgi.py,
which daphne imports before it listens. Production sends only /ws/ to daphne (nginx); this
covers `make run` and anyone who points HTTP at daphne.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

_PATCHED: dict[str, Any] = {}


def keep_bodies_in_memory(cap: int) -> None:
    """Patch daphne's WebRequest (once per process) to hold at most ``cap`` body bytes."""
    from daphne.http_protocol import WebRequest

    _PATCHED["cap"] = cap
    if "process" in _PATCHED:
        return
    _PATCHED["process"] = WebRequest.process

    def gotLength(self: WebRequest, length: int | None) -> None:
        self.content = BytesIO()
        self.body_too_large = length is not None and length > _PATCHED["cap"]

    def handleContentChunk(self: WebRequest, data: bytes) -> None:
        if self.body_too_large:
            return
        if self.content.tell() + len(data) > _PATCHED["cap"]:
            self.body_too_large = True  # release what was kept; the rest is dropped
            self.content = BytesIO()
            return
        self.content.write(data)

    def process(self: WebRequest) -> Any:
        if getattr(self, "body_too_large", False):
            self.content = BytesIO()
            self.basic_error(413, b"Content Too Large", "Request body too large.")
            return None
        return _PATCHED["process"](self)

    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.process = process
