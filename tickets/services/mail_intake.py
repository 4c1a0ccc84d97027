"""Use case: one received mail becomes a ticket, a reply on a ticket, a bounce mark, or a
quarantined message, and nothing is ever dropped (receivemail and fetchmail call it).

The message's source is stored (encrypted) first, under a key made from its Message-ID, so a
message delivered twice (an MTA retry, a fetchmail crash before the IMAP flag) is stored once.
Tickets and comments are written through the services with the requester (a Contact) as the
actor, so the requester's rules apply: a reply reopens a pending or resolved ticket and never
counts as a first response. Threading (docs/email.md): a reply names one of our signed
Message-IDs, or its subject carries the reference tag and the sender is the ticket's
requester; anyone else gets a new ticket, and so does a reply to a closed ticket.
"""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.events import record_event
from tickets.actors import SystemActor, staff_user
from tickets.mail.headers import message_ids
from tickets.mail.inbound_models import InboundMessage, QueueMailbox, message_key
from tickets.mail.parse import ParsedAttachment, ParsedMail, parse_message
from tickets.mail.quoting import split_reply
from tickets.mail.threading import (
    ForgedMessageIdError,
    inspect_message_ids,
    ticket_id_from_message_ids,
    ticket_id_from_subject,
)
from tickets.models import MAX_TEXT, Contact, Queue, Status, Ticket
from tickets.services.attachments import attachment_add
from tickets.services.comments import comment_add
from tickets.services.contacts import contact_get_or_create
from tickets.services.mail_out import mail_mark_bounced
from tickets.services.tickets import ticket_create
from ticketsystem.roles import is_manager

MAIL = SystemActor("mail")
NO_SUBJECT = "(no subject)"
NO_TEXT = "(no text)"
TRUNCATED = "\n\n[… shortened; the whole message is kept with the mail source]"
Outcome = InboundMessage.Status


def _fit(text: str) -> str:
    """Text that fits a ticket description or comment (MAX_TEXT characters)."""
    if len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - len(TRUNCATED)] + TRUNCATED


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2][:100]


def _claim(raw: bytes, parsed: ParsedMail, queue: Queue | None) -> tuple[InboundMessage, bool]:
    """Store the message under its idempotency key, or find the copy stored before.

    A concurrent delivery of the same message waits on the unique key until the first one
    commits, then finds it.
    """
    key = message_key(parsed.message_id, raw)
    existing = InboundMessage.objects.filter(message_key=key).first()
    if existing is not None:
        return existing, False
    inbound = InboundMessage(
        message_key=key,
        message_id=parsed.message_id or "",
        status=Outcome.QUARANTINED,
        reason="being processed",
        size=len(raw),
        is_automatic=parsed.is_automatic,
        queue=queue,
        sender=parsed.from_address or "",
        subject=parsed.subject,
        raw=raw,
        html_body=parsed.html or "",
    )
    try:
        with transaction.atomic():
            inbound.save(force_insert=True)
    except IntegrityError:
        return InboundMessage.objects.get(message_key=key), False
    return inbound, True


@transaction.atomic
def mail_receive(*, raw: bytes, queue: Queue | None = None) -> InboundMessage:
    """Store one RFC 5322 message and act on it; idempotent by Message-ID.

    ``queue`` skips routing by recipient address. Returns the stored message, whose
    ``status`` says what became of it; a message stored before comes back unchanged, with
    ``duplicate`` set.
    """
    raw = bytes(raw)
    parsed = parse_message(raw)
    inbound, created = _claim(raw, parsed, queue)
    inbound.duplicate = not created
    if created:
        _process(inbound, parsed, queue=queue)
    return inbound


@transaction.atomic
def mail_release(*, actor: Any, inbound: InboundMessage) -> InboundMessage:
    """Run a quarantined message through intake again, ignoring its parse problems and the
    rate cap (a manager's decision); set ``inbound.queue`` first if no queue matched."""
    if not is_manager(actor):
        raise PermissionDenied(_("Only managers can release quarantined mail."))
    inbound = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status != Outcome.QUARANTINED:
        raise ValidationError(_("Only quarantined mail can be released."))
    raw = inbound.raw
    if not isinstance(raw, bytes) or getattr(raw, "reason", None):
        raise ValidationError(_("The mail source cannot be decrypted."))
    parsed = parse_message(bytes(raw))
    overridden = parsed.problems[:]
    _process(inbound, parsed, queue=inbound.queue, release=True)
    if inbound.status == Outcome.QUARANTINED:
        raise ValidationError(_("Still not deliverable: %(reason)s") % {"reason": inbound.reason})
    if overridden and inbound.ticket is not None:
        _note(
            inbound.ticket,
            f"Released from quarantine by {actor.get_username()}, despite: "
            + "; ".join(overridden),
        )
    record_event(
        "mail_released",
        actor=staff_user(actor),
        resource=f"mail:{inbound.pk}",
        details={"status": inbound.status, "overridden": overridden[:10]},
    )
    return inbound


# Quarantined or ignored mail may be deleted on its own; a ticket's or reply's source goes
# with the ticket (purge, erasure), never alone.
DELETABLE = (Outcome.QUARANTINED, Outcome.IGNORED)


@transaction.atomic
def mail_delete(*, actor: Any, pks: list[int]) -> int:
    """Delete quarantined or ignored mail (a manager's decision), one ``mail_deleted``
    security event per message. Messages in any other state are left alone; returns how many
    were deleted."""
    if not is_manager(actor):
        raise PermissionDenied("Only managers can delete received mail.")
    rows = list(
        InboundMessage.objects.select_for_update()
        .filter(pk__in=pks, status__in=DELETABLE)
        .values_list("pk", "status")
    )
    InboundMessage.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    for pk, status in rows:
        record_event(
            "mail_deleted",
            actor=staff_user(actor),
            resource=f"mail:{pk}",
            details={"status": status},
        )
    return len(rows)


def _process(
    inbound: InboundMessage, parsed: ParsedMail, *, queue: Queue | None, release: bool = False
) -> None:
    if parsed.problems and not release:
        _quarantine(inbound, "; ".join(parsed.problems))
    elif parsed.bounce:
        _bounce(inbound, parsed)
    elif not parsed.from_address:
        _quarantine(inbound, "no valid From address")
    else:
        _deliver(inbound, parsed, queue, release=release)
    inbound.reason = inbound.reason[:500]
    inbound.save(
        update_fields=["status", "reason", "queue", "ticket", "comment", "contact", "quoted_text"]
    )


def _route(parsed: ParsedMail) -> Queue | None:
    """The queue whose address the mail was delivered to (Delivered-To first, then To, Cc)."""
    recipients = parsed.recipients
    if not recipients:
        return None
    found = {
        q.address: q
        for q in Queue.objects.annotate(address=Lower("email_address")).filter(
            address__in=recipients
        )
    }
    return next((found[r] for r in recipients if r in found), None)


def _quarantine(inbound: InboundMessage, reason: str) -> None:
    inbound.status = Outcome.QUARANTINED
    inbound.reason = reason
    record_event(
        "mail_quarantined",
        resource=f"mail:{inbound.pk}",
        details={
            "reason": reason[:200],
            "size": inbound.size,
            "sender_domain": _domain(str(inbound.sender or "")),
        },
    )


def _note(ticket: Ticket, text: str) -> None:
    """An internal note by the mail system (what the agents must know about this mail)."""
    if Ticket.objects.filter(pk=ticket.pk, status=Status.CLOSED).exists():
        return
    comment_add(actor=MAIL, ticket=ticket, body=_fit(text), is_internal=True)


# --- Threading ------------------------------------------------------------------------------


def _thread(inbound: InboundMessage, parsed: ParsedMail) -> tuple[Ticket | None, str]:
    """The ticket this mail answers and how it names it ("token", "tag"), or (None, why)."""
    try:
        ticket_id = ticket_id_from_message_ids(parsed.thread_ids)
        how = "token"
    except ForgedMessageIdError as exc:
        record_event(
            "mail_forged_token",
            resource=f"mail:{inbound.pk}",
            details={
                "forged_ids": len(exc.message_ids),
                "sender_domain": _domain(parsed.from_address),
            },
        )
        return None, "a forged reply token"
    if ticket_id is None:
        ticket_id, how = ticket_id_from_subject(parsed.subject), "tag"
    if ticket_id is None:
        return None, ""
    ticket = Ticket.objects.select_related("contact", "queue").filter(pk=ticket_id).first()
    return (ticket, how) if ticket is not None else (None, "")


def _participant(ticket: Ticket, sender: str) -> Contact | None:
    """The ticket's requester or CC contact who sent this mail, if it is one of them."""
    index = Contact.email_lookup(sender)
    contact = ticket.contact
    if contact is not None and contact.erased_at is None and contact.email_index == index:
        return contact
    return Contact.objects.filter(
        cc_entries__ticket=ticket, email_index=index, erased_at__isnull=True
    ).first()


def _deliver(
    inbound: InboundMessage, parsed: ParsedMail, queue: Queue | None, *, release: bool
) -> None:
    sender = parsed.from_address or ""
    ticket, how = _thread(inbound, parsed)
    mention = note = ""
    writer = _participant(ticket, sender) if ticket is not None else None
    if ticket is not None and writer is not None:
        if ticket.status != Status.CLOSED:
            inbound.queue = ticket.queue
            _write(inbound, parsed, ticket=ticket, how=how, writer=writer)
            return
        mention = f"(Follow-up to {ticket.reference}, which is closed.)\n\n"
    elif ticket is not None:
        via = "answers our mail about" if how == "token" else "carries the reference tag of"
        note = (
            f"This mail {via} {ticket.reference}, but its sender is neither that ticket's "
            "requester nor one of its CC contacts."
        )
    elif how:
        note = f"This mail carried {how}: it was treated as new mail."
    inbound.queue = queue = queue or _route(parsed)
    if queue is None:
        _quarantine(inbound, "no queue has any of the recipients' addresses")
        return
    if not release and _over_rate_cap(sender):
        limit = settings.MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR
        _quarantine(inbound, f"rate cap: more than {limit} new tickets from this sender in an hour")
        return
    _write(inbound, parsed, queue=queue, mention=mention, note=note)


def _over_rate_cap(sender: str) -> bool:
    since = timezone.now() - timedelta(hours=1)
    recent = InboundMessage.objects.filter(
        sender_index=InboundMessage.sender_lookup(sender),
        status=Outcome.TICKET,
        received_at__gte=since,
    )
    return recent.count() >= settings.MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR


def _write(
    inbound: InboundMessage,
    parsed: ParsedMail,
    *,
    ticket: Ticket | None = None,
    how: str = "",
    queue: Queue | None = None,
    mention: str = "",
    note: str = "",
    writer: Contact | None = None,
) -> None:
    """A reply on ``ticket`` (by ``writer``) or a new ticket in ``queue``, with its files, all or nothing;
    a refusal by a service quarantines the mail instead."""
    try:
        with transaction.atomic():
            if ticket is not None:
                _add_reply(inbound, parsed, ticket, how, writer or ticket.contact)
            elif queue is not None:
                _open_ticket(inbound, parsed, queue, mention)
            if note and inbound.ticket is not None:
                _note(inbound.ticket, note)
    except (ValidationError, PermissionDenied) as exc:
        inbound.ticket, inbound.comment, inbound.quoted_text = None, None, ""
        messages = getattr(exc, "messages", None) or [str(exc)]
        _quarantine(inbound, "refused: " + " ".join(messages))
    except (OperationalError, InterfaceError):
        raise  # the database is gone: the caller retries later (receivemail exits 75)
    except Exception as exc:  # a bug must not lose the mail: it stays in quarantine
        inbound.ticket, inbound.comment, inbound.quoted_text = None, None, ""
        _quarantine(inbound, f"intake failed ({type(exc).__name__})")
    if inbound.is_automatic and inbound.status != Outcome.QUARANTINED:
        inbound.reason += "; automatic mail (never answered automatically)"


def _requester(parsed: ParsedMail) -> Contact:
    return contact_get_or_create(actor=MAIL, email=parsed.from_address or "", name=parsed.from_name)


def _open_ticket(inbound: InboundMessage, parsed: ParsedMail, queue: Queue, mention: str) -> None:
    contact = _requester(parsed)
    ticket = ticket_create(
        actor=contact,
        queue=queue,
        subject=parsed.subject.strip() or NO_SUBJECT,
        description=_fit(mention + parsed.text),
    )
    inbound.status, inbound.reason = Outcome.TICKET, "new ticket"
    inbound.ticket, inbound.contact = ticket, contact
    _attach(contact, ticket, None, parsed.attachments)


def _add_reply(
    inbound: InboundMessage, parsed: ParsedMail, ticket: Ticket, how: str, contact: Contact
) -> None:
    """The requester's or a CC contact's reply (``_participant`` found ``contact``)."""
    reply, quoted = split_reply(parsed.text)
    comment = comment_add(actor=contact, ticket=ticket, body=_fit(reply.strip() or NO_TEXT))
    inbound.status = Outcome.COMMENT
    inbound.reason = f"reply by {'reply token' if how == 'token' else 'subject tag'}"
    inbound.ticket, inbound.comment, inbound.contact = ticket, comment, contact
    inbound.quoted_text = quoted
    _attach(contact, ticket, comment, parsed.attachments)


def _attach(contact: Contact, ticket: Ticket, comment: Any, files: list[ParsedAttachment]) -> None:
    """Every file through the upload path; refused ones are listed in an internal note."""
    refused = []
    for item in files:
        upload = SimpleUploadedFile(item.filename, item.data, content_type=item.content_type)
        try:
            attachment_add(actor=contact, ticket=ticket, upload=upload, comment=comment)
        except ValidationError as exc:
            refused.append(f"- {item.filename}: {' '.join(exc.messages)}")
    if refused:
        _note(ticket, "Files in this mail that were not attached:\n" + "\n".join(refused))


# --- Delivery status notifications ------------------------------------------------------------


def _bounce(inbound: InboundMessage, parsed: ParsedMail) -> None:
    """Mark every contact whose address failed permanently; note it on the ticket concerned."""
    inbound.status = Outcome.IGNORED
    failed = {r.address: r for r in parsed.bounce if r.permanent}
    if not failed:
        inbound.reason = "delivery report without a permanent failure"
        return
    returned_ids = _returned_message_ids(parsed)
    ticket_ids = inspect_message_ids(returned_ids).ticket_ids
    mail_mark_bounced(message_ids=returned_ids)  # the replies that bounced show it
    marked = 0
    for address, recipient in failed.items():
        for contact in Contact.objects.filter(
            email_index=Contact.email_lookup(address), erased_at__isnull=True
        ):
            marked += contact_mark_bounced(
                contact=contact, status=recipient.status, inbound=inbound, ticket_ids=ticket_ids
            )
    inbound.reason = f"bounce: {marked} contact(s) marked as bouncing"


def _returned_message_ids(parsed: ParsedMail) -> list[str]:
    """The Message-IDs a report names: its own threading headers and the returned message's."""
    ids = list(parsed.thread_ids)
    header_parser = BytesParser(policy=policy.compat32)
    for item in parsed.attachments:
        if item.content_type in ("message/rfc822", "text/rfc822-headers", "message/global"):
            headers = header_parser.parsebytes(item.data[:65536], headersonly=True)
            for name in ("Message-ID", "In-Reply-To", "References"):
                ids += message_ids(str(headers.get(name, "") or ""))
    return ids


def contact_mark_bounced(
    *, contact: Contact, status: str, inbound: InboundMessage, ticket_ids: list[int]
) -> int:
    """Stop mail to a contact whose address bounced (1 if newly marked), visibly on a ticket:
    the one the bounced mail was about, else the contact's latest open one."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.email_bounced_at is not None:
        return 0
    contact.email_bounced_at = timezone.now()
    contact.save(update_fields=["email_bounced_at"])
    tickets = Ticket.objects.filter(contact=contact).exclude(status=Status.CLOSED)
    ticket = tickets.filter(pk__in=ticket_ids).first() or tickets.order_by("-updated_at").first()
    if ticket is not None:
        inbound.ticket = inbound.ticket or ticket
        _note(
            ticket,
            f"Mail to the requester's address bounced ({status or 'permanent failure'}); "
            "no more mail goes to it until the address is corrected.",
        )
    record_event(
        "mail_bounced",
        resource=f"contact:{contact.pk}",
        details={
            "status": status[:20],
            "mail": inbound.pk,
            "ticket": ticket.pk if ticket else None,
        },
    )
    return 1


def mailbox_fetched(*, mailbox: QueueMailbox, error: str = "") -> None:
    """Remember when fetchmail last ran for a mailbox and what failed (shown on the admin)."""
    mailbox.last_fetch_at = timezone.now()
    mailbox.last_error = error[:300]
    mailbox.save(update_fields=["last_fetch_at", "last_error"])
