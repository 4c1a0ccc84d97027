"""Re-encrypting stored values under the current key, in batches, resumably.

Every value carries the id of the key that sealed it, so the work left is always "the rows
whose prefix is not ``$v1$<current id>$``": each batch locks its rows, re-encrypts them and
commits, and an interrupted run simply leaves fewer rows for the next one. Ciphertext is
rewritten with plain UPDATEs (no model signals): the plaintext does not change, so there is
nothing for the model history to record; the run itself is a ``keys_rotated`` event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from ticketsystem.cipher import DecryptionError, get_keyring
from ticketsystem.crypto import EncryptedFieldMixin, decryption_failed, encrypted_fields

# Binary values can be megabytes each: re-encrypt fewer per transaction.
BINARY_BATCH_LIMIT = 10


@dataclass
class FieldRotation:
    label: str
    total: int
    rotated: int = 0
    failed: int = 0
    finished: bool = False


def pending(field: EncryptedFieldMixin) -> QuerySet[Any]:
    """Rows of the field's model whose value is not sealed under the current key."""
    model = field.model  # type: ignore[attr-defined]
    name = field.name  # type: ignore[attr-defined]
    current = get_keyring().current_id
    return model._base_manager.exclude(**{f"{name}__key_id": current}).exclude(
        **{f"{name}__isnull": True}
    )


def rotate_field(
    field: EncryptedFieldMixin,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    on_batch: Callable[[FieldRotation], None] | None = None,
) -> FieldRotation:
    """Re-encrypt one field's stale values; stop early after ``max_batches`` batches."""
    model = field.model  # type: ignore[attr-defined]
    name, attname = field.name, field.attname  # type: ignore[attr-defined]
    size = min(batch_size, BINARY_BATCH_LIMIT) if field.binary else batch_size
    progress = FieldRotation(field.aad_label, total=pending(field).count())
    last_pk: Any = None
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            rows_qs = pending(field).order_by("pk")
            if last_pk is not None:
                rows_qs = rows_qs.filter(pk__gt=last_pk)
            rows = list(
                rows_qs.select_for_update(of=("self",)).only("pk", field.row_id_field, attname)[
                    :size
                ]
            )
            if not rows:
                progress.finished = True
                break
            changed = []
            for row in rows:
                try:
                    row.__dict__[attname] = field.reseal(row, row.__dict__[attname])
                except DecryptionError as exc:
                    progress.failed += 1
                    decryption_failed.send(
                        sender=model,
                        field=name,
                        uid=str(getattr(row, field.row_id_field)),
                        reason=str(exc),
                    )
                    continue
                changed.append(row)
            if changed:
                _write(model, field, changed)
            progress.rotated += len(changed)
            last_pk = rows[-1].pk
        batches += 1
        if on_batch is not None:
            on_batch(progress)
    else:
        progress.finished = not pending(field).filter(pk__gt=last_pk).exists() if last_pk else False
    return progress


def _write(model: Any, field: EncryptedFieldMixin, rows: list[Any]) -> None:
    """One parameterised UPDATE per row, sent together (psycopg pipelines executemany).

    Measured ~5x faster than bulk_update's CASE expression, whose construction dominates.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)  # type: ignore[attr-defined]
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    sql = f"UPDATE {table} SET {column} = %s WHERE {pk_column} = %s"  # noqa: S608 (quoted names)
    params = [
        (field.get_db_prep_save(row.__dict__[field.attname], connection), row.pk) for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def remaining_key_ids() -> set[str]:
    """Key ids still sealing at least one stored value (cheap: one query per key and field)."""
    ring = get_keyring()
    used = set()
    for field in encrypted_fields():
        model = field.model  # type: ignore[attr-defined]
        for kid in ring.keys:
            if (
                kid not in used
                and model._base_manager.filter(**{f"{field.name}__key_id": kid}).exists()
            ):
                used.add(kid)
    return used
