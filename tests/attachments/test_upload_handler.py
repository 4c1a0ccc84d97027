"""The upload handler keeps files in memory only, and only up to the limit."""

from __future__ import annotations

from django.test import override_settings

from tickets.uploads import CappedMemoryUploadHandler


def _feed(handler: CappedMemoryUploadHandler, name: str, data: bytes, chunk: int = 100):
    handler.new_file("file", name, "text/plain", len(data))
    for start in range(0, len(data), chunk):
        handler.receive_data_chunk(data[start : start + chunk], start)
    return handler.file_complete(len(data))


@override_settings(ATTACHMENT_MAX_BYTES=1000)
def test_a_file_within_the_limit_is_kept_whole():
    upload = _feed(CappedMemoryUploadHandler(), "a.txt", b"x" * 1000)
    assert (upload.size, upload.over_limit, upload.read()) == (1000, False, b"x" * 1000)


@override_settings(ATTACHMENT_MAX_BYTES=1000)
def test_a_file_past_the_limit_is_counted_but_not_kept():
    upload = _feed(CappedMemoryUploadHandler(), "b.txt", b"y" * 5000)
    assert (upload.size, upload.over_limit, upload.read()) == (5000, True, b"")


@override_settings(ATTACHMENT_MAX_BYTES=1000)
def test_many_files_in_one_request_cannot_exceed_twice_the_limit():
    handler = CappedMemoryUploadHandler()
    uploads = [_feed(handler, f"{n}.txt", b"z" * 900) for n in range(5)]
    assert [u.over_limit for u in uploads] == [False, False, True, True, True]
    assert handler.kept_in_request == 1800
