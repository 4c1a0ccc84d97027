"""Upload handling for attachments."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class CappedMemoryUploadHandler(FileUploadHandler):
    """Keep each uploaded file in memory, never on disk, up to ATTACHMENT_MAX_BYTES.

    Past the limit (or past twice the limit for all files of one request) the bytes are
    counted and dropped, so memory stays bounded and the form can still say how large the
    file was (``over_limit``). Spooling to a temporary file
    would leave plaintext on disk; nginx's client_max_body_size bounds the request itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One handler serves every file of a request: bound the request's memory, too.
        self.kept_in_request = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        self.total = 0
        self.limit = settings.ATTACHMENT_MAX_BYTES
        self.dropped = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.total += len(raw_data)
        budget = 2 * self.limit - self.kept_in_request
        if not self.dropped and self.total <= self.limit and len(raw_data) <= budget:
            self.buffer.write(raw_data)
            self.kept_in_request += len(raw_data)
        elif not self.dropped:
            self.dropped = True  # over the limit: release what was kept
            self.kept_in_request -= self.buffer.tell()
            self.buffer = BytesIO()
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        upload = InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=self.total,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        upload.over_limit = self.dropped
        return upload
