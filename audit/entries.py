"""django-auditlog entries for rows created together, written in one INSERT.

django-auditlog writes one entry per saved row, one statement each. A service that creates
several rows at once (a ticket and its description) wraps those saves in
``entries_in_one_insert()``: each create entry is built when its row is saved, exactly as
django-auditlog builds it (its diff, its masks and labels, then the ``pre_save`` receivers that
stamp the actor, client address and our safe label), and the entries are inserted together
when the block ends, inside the caller's transaction. Updates and deletes are never held.

Model history is not hash-chained (the security log is, audit/chain.py): nothing depends on
entries being inserted one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry, LogEntryManager
from django.conf import settings
from django.db import router
from django.db.models import Model
from django.db.models.signals import pre_save

_held: ContextVar[list[LogEntry] | None] = ContextVar("audit_held_entries", default=None)


class _BuildingManager(LogEntryManager):
    """django-auditlog's log_create, minus the write: its ``create()`` only builds."""

    def create(self, **kwargs: Any) -> LogEntry:
        return LogEntry(**kwargs)


_building = _BuildingManager()
_building.model = LogEntry


@contextmanager
def entries_in_one_insert() -> Iterator[None]:
    """Hold the create entries of the rows saved in this block; insert them in one
    statement at its end (nothing is written if the block raises)."""
    if _held.get() is not None:  # nested: the outer block writes them
        yield
        return
    held: list[LogEntry] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    if held:
        LogEntry.objects.bulk_create(held)


def hold_create_entry(sender: type[Model], instance: Model, action: int, **kwargs: Any) -> Any:
    """django-auditlog ``pre_log`` receiver: inside entries_in_one_insert(), build a create
    entry and hold it (False tells django-auditlog not to write one itself)."""
    held = _held.get()
    if held is None or action != LogEntry.Action.CREATE:
        return None
    changes = model_instance_diff(
        None, instance, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES
    )
    if not changes:
        return False  # what django-auditlog does: no change, no entry
    entry = _building.log_create(instance, action=action, changes=changes)
    # What save() would send: the actor and client address, our safe object label.
    using = router.db_for_write(LogEntry, instance=entry)
    pre_save.send(LogEntry, instance=entry, raw=False, using=using, update_fields=None)
    held.append(entry)
    return False
