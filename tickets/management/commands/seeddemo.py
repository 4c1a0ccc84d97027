from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from tickets.models import (
    ACTIVE_STATUSES,
    Activity,
    Comment,
    Contact,
    Priority,
    Queue,
    Status,
    Ticket,
    TicketBody,
)
from tickets.organising_models import Tag
from tickets.services import activity_for, apply_sla
from ticketsystem.roles import AGENT, MANAGER

QUEUES = [
    ("IT service desk", "it"),
    ("HR questions", "hr"),
    ("Payroll", "payroll"),
    ("Facilities", "facilities"),
    ("Patient records", "records"),
    ("Billing", "billing"),
]
FIRST = [
    "Anna",
    "Ben",
    "Chiara",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Lukas",
    "Mara",
    "Nils",
    "Olivia",
    "Paul",
    "Rosa",
    "Sami",
    "Tara",
    "Yusuf",
]
LAST = [
    "Schmidt",
    "Novak",
    "Rossi",
    "Okafor",
    "Larsen",
    "Yilmaz",
    "Dubois",
    "Kowalski",
    "Andersen",
    "Moreau",
    "Weber",
    "Silva",
    "Nakamura",
    "Fischer",
    "Ivanova",
]
SUBJECTS = [
    "Cannot log in to the {thing}",
    "{thing} is very slow since this morning",
    "Request: access to the {thing}",
    "Error message when opening the {thing}",
    "Question about my {topic}",
    "Please update my {topic}",
    "{topic} looks wrong this month",
    "New starter needs a {thing} account",
    "Broken {object} in room {room}",
    "Replacement {object} needed",
    "{topic}: missing document",
    "How do I change my {topic}?",
]
THINGS = [
    "VPN",
    "mail client",
    "HR portal",
    "records system",
    "time tracking",
    "printer queue",
    "intranet",
    "scheduling tool",
]
TOPICS = [
    "payslip",
    "holiday allowance",
    "tax class",
    "bank details",
    "contract",
    "pension plan",
    "invoice",
    "address",
]
# The managed tag vocabulary (managers keep it on the admin site); about a third of the
# tickets carry one or two of these.
TAGS = [
    "billing",
    "bug",
    "feature-request",
    "gdpr",
    "hardware",
    "onboarding",
    "urgent-customer",
    "vpn",
]
TAGGED_SHARE = 0.35
OBJECTS = ["chair", "monitor", "docking station", "door badge", "headset", "keyboard"]
SENTENCES = [
    "This started after the update yesterday.",
    "I already tried restarting.",
    "It affects the whole team.",
    "Please call me back when convenient.",
    "The error code was shown briefly.",
    "Attached is the reference from the letter.",
    "This is blocking month-end work.",
    "Thanks for looking into this.",
    "We need this before Friday.",
    "Nothing urgent, but it keeps happening.",
]
REPLIES = [
    "Thanks, we are looking into it.",
    "Could you send a screenshot of the error?",
    "I have reset the account; please try again.",
    "Forwarded to the second-level team.",
    "This should be fixed now. Please confirm.",
    "Waiting for the vendor's answer.",
    "Internal: checked the logs, looks like a permissions issue.",
    "Internal: same root cause as last week's outage.",
]


class Command(BaseCommand):
    help = (
        "Fill the database with realistic demo data: queues, agents (without passwords: set "
        "one with `manage.py changepassword`), contacts, tickets, comments and activity. "
        "Bulk inserts: 100 000 tickets take well under a minute on PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=200)
        parser.add_argument("--agents", type=int, default=12)
        parser.add_argument("--seed", type=int, default=1, help="random seed (repeatable data)")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--allow-production", action="store_true", help="required in production mode"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["tickets"]
        if not 0 < count <= 5_000_000:
            raise CommandError("--tickets must be between 1 and 5000000")
        if options["agents"] < 1 or options["batch_size"] < 1:
            raise CommandError("--agents and --batch-size must be positive")
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError("refusing to add demo data in production (use --allow-production)")
        rng = random.Random(options["seed"])
        started = time.monotonic()
        with transaction.atomic():
            queues = self._queues()
            agents_by_queue = self._agents(queues, options["agents"], rng)
            contacts = self._contacts(max(count // 5, 1), rng, options["batch_size"])
            tags = self._tags()
        # Tags draw from a generator of their own: the rest of the data stays as it was.
        self.tag_rng = random.Random(f"tags:{options['seed']}")
        made = self._tickets(
            count, queues, agents_by_queue, contacts, tags, rng, options["batch_size"]
        )
        self.stdout.write(
            f"seeded {made['tickets']} tickets ({made['tagged']} tagged), "
            f"{made['comments']} comments, {len(contacts)} contacts "
            f"in {time.monotonic() - started:.1f}s"
        )

    def _queues(self) -> list[Queue]:
        queues = []
        for name, slug in QUEUES:
            queue, _ = Queue.objects.get_or_create(slug=slug, defaults={"name": name})
            queues.append(queue)
        return queues

    def _agents(self, queues: list[Queue], n: int, rng: random.Random) -> dict[int, list[Any]]:
        user_model = get_user_model()
        agent_group = Group.objects.get(name=AGENT)
        by_queue: dict[int, list[Any]] = {q.pk: [] for q in queues}
        for i in range(n):
            username = f"demo.{FIRST[i % len(FIRST)].lower()}{i // len(FIRST) or ''}"
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.org",
                    "first_name": FIRST[i % len(FIRST)],
                    "last_name": LAST[i % len(LAST)],
                },
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                user.groups.add(agent_group)
            for queue in rng.sample(queues, k=min(2, len(queues))):
                queue.members.add(user)
                by_queue[queue.pk].append(user)
        manager, created = user_model.objects.get_or_create(
            username="demo.manager",
            defaults={"email": "demo.manager@example.org", "is_staff": True},
        )
        if created:
            manager.set_unusable_password()
            manager.save(update_fields=["password"])
            manager.groups.add(Group.objects.get(name=MANAGER))
        return by_queue

    def _tags(self) -> list[Tag]:
        return [Tag.objects.get_or_create(slug=name, defaults={"name": name})[0] for name in TAGS]

    def _tags_for(self, ticket: Ticket, tags: list[Tag]) -> list[Tag]:
        rng = self.tag_rng
        if rng.random() >= TAGGED_SHARE:
            return []
        chosen = rng.sample(tags, k=rng.choice((1, 1, 2)))
        vpn = next((tag for tag in tags if tag.slug == "vpn"), None)
        if vpn is not None and "VPN" in ticket.subject and vpn not in chosen:
            chosen.append(vpn)
        return chosen

    def _contacts(self, n: int, rng: random.Random, batch: int) -> list[Contact]:
        contacts = []
        for i in range(n):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            contacts.append(
                Contact(
                    name=f"{first} {last}",
                    email=f"{first}.{last}.{i}@example.com".lower(),
                    phone=f"+49 30 {rng.randint(1000000, 9999999)}",
                )
            )
        return Contact.objects.bulk_create(contacts, batch_size=batch)

    def _subject(self, rng: random.Random) -> str:
        subject = rng.choice(SUBJECTS).format(
            thing=rng.choice(THINGS),
            topic=rng.choice(TOPICS),
            object=rng.choice(OBJECTS),
            room=rng.randint(100, 450),
        )
        return subject[0].upper() + subject[1:]

    def _tickets(
        self,
        n: int,
        queues: list[Queue],
        agents_by_queue: dict[int, list[Any]],
        contacts: list[Contact],
        tags: list[Tag],
        rng: random.Random,
        batch: int,
    ) -> dict[str, int]:
        now = timezone.now()
        made = {"tickets": 0, "comments": 0, "tagged": 0}
        tagging = Tag.tickets.through
        priorities = [
            Priority.LOW,
            Priority.NORMAL,
            Priority.NORMAL,
            Priority.NORMAL,
            Priority.HIGH,
            Priority.URGENT,
        ]
        for start in range(0, n, batch):
            size = min(batch, n - start)
            tickets: list[Ticket] = []
            for _ in range(size):
                queue = rng.choice(queues)
                age = timedelta(minutes=int(rng.random() ** 2 * 365 * 24 * 60))
                created = now - age
                priority = rng.choice(priorities)
                response = queue.sla_for(priority)[0]
                status = self._status_for(age, rng)
                members = agents_by_queue[queue.pk]
                assignee = (
                    rng.choice(members)
                    if members and (status != Status.NEW or rng.random() < 0.3)
                    else None
                )
                first_response = created + response * rng.random() if status != Status.NEW else None
                updated = created + (now - created) * rng.random() ** 3
                ticket = Ticket(
                    queue=queue,
                    subject=self._subject(rng),
                    contact=rng.choice(contacts),
                    status=status,
                    priority=priority,
                    assignee=assignee,
                    created_by=assignee,
                    created_at=created,
                    updated_at=updated,
                    first_response_at=first_response,
                    resolved_at=updated if status in (Status.RESOLVED, Status.CLOSED) else None,
                    closed_at=updated if status == Status.CLOSED else None,
                )
                apply_sla(ticket)
                tickets.append(ticket)
            with transaction.atomic():
                Ticket.objects.bulk_create(tickets, batch_size=batch)
                TicketBody.objects.bulk_create(
                    [
                        TicketBody(ticket=ticket, description=" ".join(rng.sample(SENTENCES, k=3)))
                        for ticket in tickets
                    ],
                    batch_size=batch,
                )
                comments: list[Comment] = []
                activities: list[Activity] = []
                for ticket in tickets:
                    activities.append(
                        activity_for(
                            ticket,
                            ticket.created_by,
                            Activity.Verb.CREATED,
                            new=ticket.subject,
                            at=ticket.created_at,
                        )
                    )
                    for k in range(
                        rng.choice((0, 1, 2, 2, 3, 4)) if ticket.status != Status.NEW else 0
                    ):
                        reply = rng.choice(REPLIES)
                        comments.append(
                            Comment(
                                ticket=ticket,
                                author=ticket.assignee,
                                body=reply,
                                is_internal=reply.startswith("Internal"),
                                created_at=ticket.created_at + timedelta(minutes=10 * (k + 1)),
                            )
                        )
                    if ticket.status != Status.NEW:
                        activities.append(
                            activity_for(
                                ticket,
                                ticket.assignee,
                                Activity.Verb.STATUS,
                                "New",
                                ticket.get_status_display(),
                                at=ticket.updated_at,
                            )
                        )
                Comment.objects.bulk_create(comments, batch_size=batch)
                Activity.objects.bulk_create(activities, batch_size=batch)
                links = [
                    tagging(tag_id=tag.pk, ticket_id=ticket.pk)
                    for ticket in tickets
                    for tag in self._tags_for(ticket, tags)
                ]
                tagging.objects.bulk_create(links, batch_size=batch)
            made["tagged"] += len({link.ticket_id for link in links})
            made["tickets"] += len(tickets)
            made["comments"] += len(comments)
        return made

    @staticmethod
    def _status_for(age: timedelta, rng: random.Random) -> str:
        if age > timedelta(days=30):
            return rng.choices(
                [Status.CLOSED, Status.RESOLVED, *ACTIVE_STATUSES], [85, 8, 2, 3, 2]
            )[0]
        return rng.choices(
            [Status.NEW, Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED],
            [20, 35, 15, 15, 15],
        )[0]
