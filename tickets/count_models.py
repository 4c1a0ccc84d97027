"""How many tickets each queue holds in each status, kept exact by the database.

The dashboard's status tiles counted every visible ticket (an index-only scan of 100 000
index entries, ~10-15 ms at 100k: the dashboard's largest cost). A trigger on the ticket
table now adds and subtracts in ``StatusCount`` in the same transaction as every insert,
delete, and change of status or queue, whatever makes it (services, admin, bulk updates, raw
SQL, a restore), so the tiles read a few rows and stay exact and live. Rows are updated in
a fixed order (old and new key sorted), so two changes never wait on each other crosswise.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from tickets.models import Queue


class StatusCount(models.Model):
    """The number of tickets of one queue in one status (maintained by triggers only)."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "status"], name="statuscount_queue_status")
        ]

    def __str__(self) -> str:
        return f"{self.queue_id}/{self.status}: {self.n}"


POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION tickets_statuscount_add(q bigint, s varchar, d integer)
RETURNS void AS $$
    INSERT INTO tickets_statuscount (queue_id, status, n) VALUES (q, s, d)
    ON CONFLICT (queue_id, status) DO UPDATE SET n = tickets_statuscount.n + EXCLUDED.n
$$ LANGUAGE sql;

CREATE OR REPLACE FUNCTION tickets_statuscount_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tickets_statuscount_add(NEW.queue_id, NEW.status, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tickets_statuscount_add(OLD.queue_id, OLD.status, -1);
    ELSIF (OLD.queue_id, OLD.status) < (NEW.queue_id, NEW.status) THEN
        PERFORM tickets_statuscount_add(OLD.queue_id, OLD.status, -1);
        PERFORM tickets_statuscount_add(NEW.queue_id, NEW.status, 1);
    ELSIF (OLD.queue_id, OLD.status) > (NEW.queue_id, NEW.status) THEN
        PERFORM tickets_statuscount_add(NEW.queue_id, NEW.status, 1);
        PERFORM tickets_statuscount_add(OLD.queue_id, OLD.status, -1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tickets_statuscount_truncate() RETURNS trigger AS $$
BEGIN
    DELETE FROM tickets_statuscount;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_ticket_statuscount
    AFTER INSERT OR DELETE OR UPDATE OF status, queue_id ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_statuscount_change();
CREATE TRIGGER tickets_ticket_statuscount_truncate
    AFTER TRUNCATE ON tickets_ticket
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_statuscount_truncate();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS tickets_ticket_statuscount ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_statuscount_truncate ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_statuscount_change();
DROP FUNCTION IF EXISTS tickets_statuscount_truncate();
DROP FUNCTION IF EXISTS tickets_statuscount_add(bigint, varchar, integer);
"""
_SQLITE_ADD = """INSERT INTO tickets_statuscount (queue_id, status, n)
    VALUES ({row}.queue_id, {row}.status, {d})
    ON CONFLICT (queue_id, status) DO UPDATE SET n = n + {d};"""
SQLITE_CREATE = [
    "CREATE TRIGGER tickets_ticket_statuscount_insert AFTER INSERT ON tickets_ticket"
    f" FOR EACH ROW BEGIN {_SQLITE_ADD.format(row='NEW', d=1)} END",
    "CREATE TRIGGER tickets_ticket_statuscount_delete AFTER DELETE ON tickets_ticket"
    f" FOR EACH ROW BEGIN {_SQLITE_ADD.format(row='OLD', d=-1)} END",
    "CREATE TRIGGER tickets_ticket_statuscount_update AFTER UPDATE OF status, queue_id"
    " ON tickets_ticket FOR EACH ROW"
    " WHEN NEW.status IS NOT OLD.status OR NEW.queue_id IS NOT OLD.queue_id BEGIN"
    f" {_SQLITE_ADD.format(row='OLD', d=-1)} {_SQLITE_ADD.format(row='NEW', d=1)} END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS tickets_ticket_statuscount_{kind}"
    for kind in ("insert", "delete", "update")
]
BACKFILL = """
DELETE FROM tickets_statuscount;
INSERT INTO tickets_statuscount (queue_id, status, n)
    SELECT queue_id, status, COUNT(*) FROM tickets_ticket GROUP BY queue_id, status;
"""


def _statements(vendor: str, create: bool) -> list[str]:
    if vendor == "postgresql":
        return [POSTGRES_CREATE if create else POSTGRES_DROP]
    if vendor == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    raise NotImplementedError(f"no status count triggers for {vendor}")


def status_count_triggers() -> migrations.RunPython:
    """A migration operation: install the triggers, then count what is there already (the
    trigger's lock on the ticket table holds writers off until the migration commits)."""

    def create(apps: Any, schema_editor: Any) -> None:
        for sql in _statements(schema_editor.connection.vendor, create=True):
            schema_editor.execute(sql, params=None)
        for sql in BACKFILL.strip().split(";\n"):
            schema_editor.execute(sql, params=None)

    def drop(apps: Any, schema_editor: Any) -> None:
        for sql in _statements(schema_editor.connection.vendor, create=False):
            schema_editor.execute(sql, params=None)

    return migrations.RunPython(create, drop, elidable=False)
