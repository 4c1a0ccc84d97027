"""Concurrent writers never fork the chain: PostgreSQL's advisory lock serialises appends."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from audit.chain import verify_chain
from audit.events import record_event
from audit.models import SecurityEvent

WRITERS = 6
EVENTS_EACH = 15


# serialized_rollback: a transactional test's flush would otherwise drop the role groups
# the data migration made, for every later test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_appends_from_many_connections_form_one_chain():
    assert connection.vendor == "postgresql"
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                record_event("access_denied", username=f"w{n}", resource=f"r{i}")
        except BaseException as exc:  # report in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    seqs = list(SecurityEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1))
    result = verify_chain(batch_size=7)
    assert result.ok and result.checked == WRITERS * EVENTS_EACH
