"""Measure field encryption and key rotation on the configured database.

    DATABASE_URL=postgres://... .venv/bin/python bench/crypto_rotation.py [rows] [attachments]

Seeds ``rows`` tickets (description + a contact with name, email, phone) and ``attachments``
1 MB files under an old key inside one transaction, rotates everything to a new key with
the rotatekeys machinery, prints a table, and rolls everything back (nothing is kept).
Use an empty, migrated database of its own.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.test import override_settings  # noqa: E402

from tickets.models import Attachment, Contact, Queue, Ticket, TicketBody  # noqa: E402
from ticketsystem.cipher import decrypt, encrypt, generate_key  # noqa: E402
from ticketsystem.crypto import encrypted_fields  # noqa: E402
from ticketsystem.keyrotation import rotate_field  # noqa: E402

OLD = f"bench_old:{generate_key()}"
NEW = f"bench_new:{generate_key()}"


class Rollback(Exception):
    pass


def main(rows: int, files: int) -> None:
    if Ticket.objects.exists() or Contact.objects.exists():
        # Rows sealed under keys the bench does not hold would each count as a failed
        # decryption (and a security event), which measures something else entirely.
        sys.exit("crypto_rotation: use an empty, migrated database (this one holds tickets)")
    results: list[tuple[str, str]] = []
    aad = b"tickets.ticketbody.description:00000000-0000-0000-0000-000000000000"
    text = "A realistic ticket description of a few hundred characters. " * 5
    start = time.perf_counter()
    tokens = [encrypt(text, aad=aad) for _ in range(10_000)]
    results.append(
        ("encrypt 300-char value", f"{(time.perf_counter() - start) / 10_000 * 1e6:.1f} µs")
    )
    start = time.perf_counter()
    for token in tokens:
        decrypt(token, aad=aad)
    results.append(
        ("decrypt 300-char value", f"{(time.perf_counter() - start) / 10_000 * 1e6:.1f} µs")
    )

    try:
        with transaction.atomic():
            with override_settings(FIELD_ENCRYPTION_KEYS=OLD):
                start = time.perf_counter()
                queue = Queue.objects.create(name="bench-rotation", slug="bench-rotation")
                contacts = Contact.objects.bulk_create(
                    Contact(name=f"Person {n}", email=f"p{n}@example.org", phone="+49 30 1234567")
                    for n in range(rows)
                )
                tickets = Ticket.objects.bulk_create(
                    Ticket(queue=queue, subject=f"bench {n}", contact=c)
                    for n, c in enumerate(contacts)
                )
                TicketBody.objects.bulk_create(
                    TicketBody(ticket=ticket, description=text) for ticket in tickets
                )
                blob = os.urandom(1024 * 1024)
                Attachment.objects.bulk_create(
                    Attachment(
                        ticket=tickets[n % rows],
                        filename=f"f{n}.bin",
                        content_type="application/pdf",
                        size=len(blob),
                        content=blob,
                    )
                    for n in range(files)
                )
                results.append(
                    (
                        f"seed {rows} tickets+contacts, {files} files of 1 MB",
                        f"{time.perf_counter() - start:.2f} s",
                    )
                )
            with override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
                values = 0
                start = time.perf_counter()
                for field in encrypted_fields():
                    progress = rotate_field(field, batch_size=500)
                    values += progress.rotated
                elapsed = time.perf_counter() - start
                results.append((f"rotate {values} values (batch 500)", f"{elapsed:.2f} s"))
                results.append(
                    ("rotation rate (text + files)", f"{values / elapsed:,.0f} values/s")
                )
            raise Rollback
    except Rollback:
        pass

    width = max(len(name) for name, _ in results)
    print(f"{'measure':<{width}}  result")
    print(f"{'-' * width}  ------")
    for name, value in results:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 20,
    )
