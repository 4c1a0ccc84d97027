"""403 and 404 are logged as one line, without a traceback; real errors keep theirs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def request_log() -> Iterator[Keep]:
    logger = logging.getLogger("django.request")
    keep = Keep()
    logger.addHandler(keep)
    try:
        yield keep
    finally:
        logger.removeHandler(keep)


@pytest.mark.django_db
def test_a_forbidden_page_and_a_missing_ticket_are_one_line_each(
    client, agent_client, outsider, request_log
):
    from tests.conftest import login

    assert agent_client.get("/audit/").status_code == 403  # managers only
    assert agent_client.get("/tickets/T-999999/").status_code == 404
    assert login(client, outsider).get("/dashboard/").status_code == 403  # no role
    assert len(request_log.records) == 3
    for record in request_log.records:
        assert record.exc_info is None
        assert "\n" not in logging.Formatter().format(record)


def test_other_errors_keep_their_traceback():
    from ticketsystem.logfilters import OneLineRefusals

    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "django.request", 40, __file__, 1, "Internal", (), sys.exc_info()
        )
    assert OneLineRefusals().filter(record) and record.exc_info is not None
