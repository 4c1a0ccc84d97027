"""Mail throughput, measured in process on this machine: intake (and, later, sending).

    createdb -h 127.0.0.1 -U postgres ts_bench_mail   # once; the bench migrates it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ts_bench_mail \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/mail.py intake --messages 1000

intake: --messages distinct messages through ``services.mail_receive`` (what receivemail and
fetchmail call, without a process per message): a mix of new tickets from many senders,
replies naming our Message-IDs, and a few with attachments; prints messages per second
(target >= 50/s). Use a database of its own: the bench adds queues, contacts and tickets.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)
BODY = (
    "Hello,\n\nsince this morning the printer on floor {n} prints blank pages. "
    "We restarted it twice.\n\nRegards\nSender {n}\n\n"
    "On Mon, 6 May 2024 at 10:00, Support wrote:\n> Please try again.\n> Thanks\n"
)


def build_message(
    n: int, address: str, run: str, sender: int, reply_to: str | None = None
) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = f"Sender {sender} <sender{sender}@bench.example.org>"
    msg["To"] = address
    msg["Subject"] = f"Printer problem {n}"
    msg["Message-ID"] = f"<bench.{run}.{n}@bench.example.org>"
    if reply_to:
        msg["In-Reply-To"] = reply_to
    msg.set_content(BODY.format(n=n))
    if n % 10 == 0:
        msg.add_attachment(PNG, maintype="image", subtype="png", filename=f"shot{n}.png")
    return msg.as_bytes()


def intake(messages: int) -> float:
    """Run ``messages`` mails through mail_receive; returns messages per second."""
    from django.conf import settings
    from django.db import connection

    from tickets import services
    from tickets.mail.threading import make_message_id
    from tickets.models import Queue

    run = uuid.uuid4().hex[:8]
    address = f"bench-{run}@helpdesk.example.com"
    Queue.objects.create(name=f"Bench {run}", slug=f"bench-{run}", email_address=address)
    # The rate cap is per sender and hour: 300 senders at 1000 messages stay well below it.
    settings.MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR = 10_000
    tickets: list[tuple[int, int]] = []  # (ticket id, its requester's sender number)
    statuses: dict[str, int] = {}
    started = time.perf_counter()  # building each message is inside: a few percent
    for n in range(messages):
        sender, reply_to = n % 300, None
        if n % 4 == 3 and tickets:  # every fourth mail: the requester answers our reply
            ticket_id, sender = tickets[n % len(tickets)]
            reply_to = make_message_id(ticket_id, "helpdesk.example.com")
        inbound = services.mail_receive(raw=build_message(n, address, run, sender, reply_to))
        statuses[inbound.status] = statuses.get(inbound.status, 0) + 1
        if inbound.status == "ticket":
            tickets.append((inbound.ticket_id, sender))
    elapsed = time.perf_counter() - started
    rate = messages / elapsed
    outcome = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"intake: {messages} messages in {elapsed:.1f} s = {rate:.0f} messages/s ({outcome})")
    print(f"  database: {connection.settings_dict['NAME']}; target >= 50 messages/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    intake_parser = sub.add_parser("intake", help="mail_receive throughput")
    intake_parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if args.part == "intake":
        intake(args.messages)


if __name__ == "__main__":
    main()
