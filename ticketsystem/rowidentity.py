"""The row identity that encrypted values are bound to cannot change.

An encrypted field's associated data names its model, field and the row's ``uid``
(``ticketsystem/crypto.py``). If ``uid`` could be updated, a ciphertext copied into another
row together with its uid would decrypt there. A trigger on every table with a ``uid``
refuses any UPDATE that changes it (PostgreSQL: SQLSTATE 23000, an IntegrityError in
Django; SQLite, the development default, the same way), and ``uid`` is unique, so a
ciphertext cannot take its identity to another row. Each app's migration installs the
trigger with ``uid_immutable(*tables)``; tests/crypto/test_row_identity.py checks that no
table with encrypted fields lacks it.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table}.uid is immutable: encrypted values are bound to it'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER {name}
    BEFORE UPDATE OF uid ON {table}
    FOR EACH ROW WHEN (NEW.uid IS DISTINCT FROM OLD.uid)
    EXECUTE FUNCTION {name}();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS {name} ON {table};
DROP FUNCTION IF EXISTS {name}();
"""
SQLITE_CREATE = """
CREATE TRIGGER {name}
    BEFORE UPDATE OF uid ON {table}
    FOR EACH ROW WHEN NEW.uid IS NOT OLD.uid
    BEGIN SELECT RAISE(ABORT, '{table}.uid is immutable'); END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS {name}"


def trigger_name(table: str) -> str:
    return f"{table}_uid_immutable"


def _run(schema_editor: Any, templates: dict[str, str], tables: tuple[str, ...]) -> None:
    template = templates.get(schema_editor.connection.vendor)
    if template is None:
        raise NotImplementedError(f"no uid trigger for {schema_editor.connection.vendor}")
    for table in tables:
        sql = template.format(name=trigger_name(table), table=table)
        schema_editor.execute(sql, params=None)


def uid_immutable(*tables: str) -> migrations.RunPython:
    """A migration operation: from now on ``uid`` of these tables cannot be updated."""

    def create(apps: Any, schema_editor: Any) -> None:
        _run(schema_editor, {"postgresql": POSTGRES_CREATE, "sqlite": SQLITE_CREATE}, tables)

    def drop(apps: Any, schema_editor: Any) -> None:
        _run(schema_editor, {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}, tables)

    return migrations.RunPython(create, drop, elidable=False)
