"""Print every row of every model (encrypted fields decrypted) and the audit chain as JSON.

Run as ``python -m tests.ops.dbsnapshot`` with DATABASE_URL pointing at the database to read;
the restore round-trip test compares the output for the original and the restored database.
"""

from __future__ import annotations

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
django.setup()

from django.apps import apps  # noqa: E402

from audit.chain import verify_chain  # noqa: E402


def snapshot() -> dict[str, object]:
    out: dict[str, object] = {}
    for model in apps.get_models(include_auto_created=True):
        fields = model._meta.concrete_fields
        out[model._meta.label] = [
            # getattr on an encrypted field decrypts it (or yields "[cannot decrypt]").
            {field.attname: str(getattr(row, field.attname)) for field in fields}
            for row in model._default_manager.order_by("pk")
        ]
    chain = verify_chain()
    out["__audit_chain__"] = {"ok": chain.ok, "checked": chain.checked, "reason": chain.reason}
    return out


if __name__ == "__main__":
    print(json.dumps(snapshot(), sort_keys=True))
