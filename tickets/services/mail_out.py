"""Mail out: what the ticket and comment services call so that requesters and agents get
mail, and the send step the task worker runs.

Each ``mail_on_*`` function runs inside its caller's transaction: it writes OutboundMail rows
and enqueues one send task per row, so a reply is saved and queued, or neither. With the
database task backend the task is a row in the same transaction; with the immediate backend
(``make run`` without a worker) the task runs right after the commit.

Rules: no mail for internal notes; none to a requester without a usable address, whose
address bounced, or whose own mail was automatic (an auto-reply gets no acknowledgement);
agents get mail on assignment to them, on their requester's reply and when a colleague
mentions them in an internal note, as their preference says, never about what they did
themselves; an agent's notice names the ticket and links to it, never carries message text.
"""

from __future__ import annotations

import contextlib
import smtplib
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.preferences import users_language
from tickets import access
from tickets.actors import is_contact, is_system, staff_user
from tickets.live.events import delivery_event
from tickets.mail.headers import (
    HeaderValueError,
    clean_header_value,
    clean_message_id,
    format_address,
    validate_address,
)
from tickets.mail.inbound_models import InboundMessage
from tickets.mail.outbound_models import (
    MailNotificationPreference,
    OutboundMail,
    QueueMailSettings,
    render_template,
)
from tickets.mail.threading import make_message_id, reply_subject
from tickets.models import Comment, Contact, Status, Ticket
from ticketsystem.crypto import is_undecryptable

Kind = OutboundMail.Kind
State = OutboundMail.State
# Mails to the requester: one conversation, threaded by Message-ID.
REQUESTER_KINDS = (Kind.REPLY, Kind.ACK, Kind.RESOLVED)
MAX_REFERENCES = 20
# The kind token in our signed Message-IDs (tickets/mail/threading.py).
MESSAGE_ID_KINDS = {
    Kind.REPLY: "reply",
    Kind.ACK: "ack",
    Kind.RESOLVED: "note",
    Kind.ASSIGNED: "notify",
    Kind.REQUESTER_REPLIED: "notify",
    Kind.MENTION: "notify",
}
# What an agent's notice says happened (its subject and first line).
NOTICES = {
    Kind.ASSIGNED: gettext_lazy("Assigned to you"),
    Kind.REQUESTER_REPLIED: gettext_lazy("Requester replied"),
    Kind.MENTION: gettext_lazy("Mentioned in a note"),
}
# SMTP codes that will not get better by trying again.
PERMANENT_CODES = range(500, 600)


# -- what the ticket and comment services call (inside their transaction)


def mail_on_comment(*, actor: Any, ticket: Ticket, comment: Comment) -> None:
    """A staff member's public reply goes to the requester; a requester's reply is announced
    to the ticket's assignee (by preference). Internal notes and the system's comments: none."""
    if comment.is_internal or is_system(actor):
        return
    if is_contact(actor):
        _notify_agent(ticket, actor, Kind.REQUESTER_REPLIED, "on_requester_reply")
        return
    address = requester_address(ticket)
    if address is None:
        return
    options = queue_options(ticket)
    body = _with_signature(str(comment.body), options.signature, ticket, actor)
    _enqueue(ticket, Kind.REPLY, [address, *cc_addresses(ticket)], body, comment=comment)


def mail_on_ticket_created(*, actor: Any, ticket: Ticket, is_automatic: bool = False) -> None:
    """Acknowledge a ticket its requester (or a mail job for them) opened, if the queue says
    so and their mail was not automatic; tell an assignee other than the creator."""
    if ticket.assignee_id is not None:
        _notify_agent(ticket, actor, Kind.ASSIGNED, "on_assignment")
    if staff_user(actor) is not None or is_automatic:
        return
    options = queue_options(ticket)
    address = requester_address(ticket)
    if options.send_acknowledgement and address is not None:
        body = render_template(options.acknowledgement_template, _values(ticket, actor, options))
        _enqueue(ticket, Kind.ACK, [address], body, auto_submitted=True)


def mail_on_assigned(*, actor: Any, ticket: Ticket) -> None:
    """Tell the new assignee, unless they assigned it to themselves."""
    if ticket.assignee_id is not None:
        _notify_agent(ticket, actor, Kind.ASSIGNED, "on_assignment")


def mail_on_mention(*, actor: Any, ticket: Ticket, comment: Comment, agent: Any) -> None:
    """Tell a colleague an internal note mentions them, if they can see the ticket: a link to
    the note, not its text."""
    if access.can_see_ticket(agent, ticket):
        _notify_agent(ticket, actor, Kind.MENTION, "on_mention", agent, f"#c-{comment.pk}")


def mail_on_status(*, actor: Any, ticket: Ticket) -> None:
    """The queue's resolve note to the requester, when the ticket became resolved."""
    if ticket.status != Status.RESOLVED:
        return
    options = queue_options(ticket)
    address = requester_address(ticket)
    if options.send_resolved_note and address is not None:
        body = render_template(options.resolved_template, _values(ticket, actor, options))
        _enqueue(ticket, Kind.RESOLVED, [address], body, auto_submitted=True)


# -- reads the rules above need


def queue_options(ticket: Ticket) -> QueueMailSettings:
    """The queue's mail settings, or the defaults (nothing automatic) when none were saved."""
    found = QueueMailSettings.objects.filter(queue_id=ticket.queue_id).first()
    return found or QueueMailSettings(queue_id=ticket.queue_id)


def requester_address(ticket: Ticket) -> str | None:
    """The requester's address if mail may go to it: set, valid, not erased, not bouncing."""
    contact = ticket.contact
    if contact is None or contact.erased_at or contact.email_bounced_at or not contact.email:
        return None
    try:
        return validate_address(str(contact.email))
    except HeaderValueError:
        return None


def cc_addresses(ticket: Ticket) -> list[str]:
    """The CC contacts' addresses that mail may go to (set, valid, not erased or bouncing)."""
    found = []
    for contact in Contact.objects.filter(cc_entries__ticket=ticket).order_by("cc_entries__id"):
        if contact.erased_at or contact.email_bounced_at or not contact.email:
            continue
        try:
            found.append(validate_address(str(contact.email)))
        except HeaderValueError:
            continue
    return list(dict.fromkeys(found))


def sender_of(ticket: Ticket) -> tuple[str, str]:
    """(From header, bare address): the queue's address, else DEFAULT_FROM_EMAIL."""
    name, address = parseaddr(ticket.queue.email_address or settings.DEFAULT_FROM_EMAIL)
    address = validate_address(address)
    return format_address(address, ticket.queue.name or name), address


# -- building the rows


def _values(ticket: Ticket, actor: Any, options: QueueMailSettings) -> dict[str, str]:
    user = staff_user(actor) or ticket.assignee
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "agent": user.get_username() if user is not None else ticket.queue.name,
        "queue": ticket.queue.name,
        "signature": render_template(options.signature, {"queue": ticket.queue.name}),
    }


def _with_signature(body: str, signature: str, ticket: Ticket, actor: Any) -> str:
    if not signature.strip():
        return body
    options = QueueMailSettings(signature=signature)
    return f"{body.rstrip()}\n\n-- \n{_values(ticket, actor, options)['signature']}"


def _thread(ticket: Ticket) -> tuple[str, str]:
    """(In-Reply-To, References) continuing the requester's conversation on this ticket: our
    mails to them and theirs to us, oldest first, so In-Reply-To names the latest of both."""
    sent = OutboundMail.objects.filter(ticket=ticket, kind__in=REQUESTER_KINDS).order_by(
        "-created_at", "-id"
    )
    received = InboundMessage.objects.filter(Q(ticket=ticket) | Q(comment__ticket=ticket)).order_by(
        "-received_at", "-id"
    )
    conversation = [
        *sent.values_list("created_at", "message_id")[:MAX_REFERENCES],
        *(
            (row.received_at, clean_message_id(str(row.message_id)))
            for row in received.only("uid", "received_at", "message_id")[:MAX_REFERENCES]
            if row.message_id and not is_undecryptable(row.message_id)
        ),
    ]
    conversation.sort(key=lambda pair: pair[0])
    ids = list(dict.fromkeys(mid for _, mid in conversation if mid))[-MAX_REFERENCES:]
    return (ids[-1] if ids else ""), " ".join(ids)


def _enqueue(
    ticket: Ticket,
    kind: str,
    recipients: list[str],
    body: str,
    *,
    comment: Comment | None = None,
    subject: str = "",
    auto_submitted: bool = False,
) -> OutboundMail:
    sender, address = sender_of(ticket)
    domain = address.rpartition("@")[2]
    try:
        message_id = make_message_id(ticket.pk, domain, kind=MESSAGE_ID_KINDS[kind])
    except ValueError:  # an address domain that is no plain host name
        message_id = make_message_id(ticket.pk, "localhost", kind=MESSAGE_ID_KINDS[kind])
    in_reply_to, references = ("", "") if kind not in REQUESTER_KINDS else _thread(ticket)
    now = timezone.now()
    mail = OutboundMail.objects.create(
        ticket=ticket,
        comment=comment,
        kind=kind,
        sender=sender,
        recipients="\n".join(recipients),
        subject=clean_header_value(subject or reply_subject(ticket.subject, ticket.reference)),
        body=body,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    _schedule(mail.pk)
    return mail


def _notify_agent(
    ticket: Ticket, actor: Any, kind: str, preference: str, agent: Any = None, anchor: str = ""
) -> None:
    agent = agent or ticket.assignee
    if agent is None or agent == staff_user(actor) or not agent.is_active or not agent.email:
        return
    wanted = MailNotificationPreference.objects.filter(user=agent).values_list(
        preference, flat=True
    )
    if not next(iter(wanted), True):  # no preferences saved: both notices are on
        return
    try:
        address = validate_address(agent.email)
    except HeaderValueError:
        return
    path = ticket.get_absolute_url() + anchor
    link = f"{settings.MAIL_SITE_URL}{path}" if settings.MAIL_SITE_URL else path
    who = staff_user(actor)
    with users_language(agent):  # the agent's language, not the actor's
        what = str(NOTICES[kind])
        values = {"what": what, "ref": ticket.reference, "queue": ticket.queue.name}
        if who is not None:
            values["who"] = who.get_username()
            first = _("%(what)s by %(who)s: ticket %(ref)s in %(queue)s.") % values
        else:
            first = _("%(what)s: ticket %(ref)s in %(queue)s.") % values
        subject_line = _("Subject: %(subject)s") % {"subject": ticket.subject}
        why = _("You get this mail because of your notification preferences.")
        body = f"{first}\n{subject_line}\n\n{link}\n\n{why}"
    subject = f"[{ticket.reference}] {what}: {ticket.subject}"
    _enqueue(ticket, kind, [address], body, subject=subject, auto_submitted=True)


# -- the task queue


def _backend_stores_tasks() -> bool:
    from django_tasks_db import DatabaseBackend

    from tickets.mail.tasks import send_outbound_mail

    return isinstance(send_outbound_mail.get_backend(), DatabaseBackend)


def _schedule(mail_id: int, *, run_after: Any = None) -> None:
    """Enqueue the send task: a row in this transaction (database backend), or a run right
    after the commit (immediate backend), so a rolled-back reply sends nothing."""
    from tickets.mail.tasks import send_outbound_mail

    if _backend_stores_tasks():
        task = send_outbound_mail.using(run_after=run_after) if run_after else send_outbound_mail
        task.enqueue(mail_id)
    elif run_after is None:
        transaction.on_commit(lambda: send_outbound_mail.enqueue(mail_id))


# -- the send step (the worker's task)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: base * 2^(n-1) seconds, capped."""
    seconds = settings.MAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.MAIL_RETRY_MAX_SECONDS))


def _message(mail: OutboundMail) -> EmailMessage:
    headers = {"Message-ID": mail.message_id}
    if mail.in_reply_to:
        headers["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        headers["References"] = mail.references
    if mail.auto_submitted:
        headers["Auto-Submitted"] = "auto-replied" if mail.kind == Kind.ACK else "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    return EmailMessage(
        subject=clean_header_value(mail.subject),
        body=str(mail.body),
        from_email=mail.sender,
        to=mail.recipient_list[:1],
        cc=mail.recipient_list[1:],  # a reply's CC contacts
        headers={name: clean_header_value(value) for name, value in headers.items()},
    )


def _describe(exc: Exception) -> tuple[str, bool]:
    """(one-line reason without secrets, permanent?) for a failed SMTP attempt."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return f"recipient refused ({', '.join(map(str, codes))})", all(
            c in PERMANENT_CODES for c in codes
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"SMTP login refused ({exc.smtp_code})", False
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        reason = clean_header_value(f"{exc.smtp_code} {text}", max_length=200)
        return reason, exc.smtp_code in PERMANENT_CODES
    if isinstance(exc, ValueError):  # the mail itself is unusable: retrying cannot help
        return clean_header_value(str(exc), max_length=200), True
    return clean_header_value(f"{type(exc).__name__}: {exc}", max_length=200), False


# One open SMTP connection per worker process, reused from task to task (a new connection
# per mail costs more than the mail); keyed by the settings it was opened with.
_smtp: dict[tuple[Any, ...], Any] = {}


def _smtp_key() -> tuple[Any, ...]:
    return (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)


def _send(message: EmailMessage) -> int:
    """Send over the process's open connection; one fresh connection if the server had
    dropped it while idle."""
    key = _smtp_key()
    for _attempt in range(2):
        connection = _smtp.get(key)
        if connection is None:
            connection = get_connection()
            connection.open()  # opened here, so send() leaves it open for the next mail
            _smtp[key] = connection
        message.connection = connection
        try:
            return message.send()
        except smtplib.SMTPServerDisconnected:
            _drop(key)
        except Exception:
            _drop(key)
            raise
    raise smtplib.SMTPServerDisconnected("the SMTP server closed the connection twice")


def _drop(key: tuple[Any, ...]) -> None:
    connection = _smtp.pop(key, None)
    if connection is not None:
        with contextlib.suppress(Exception):  # it is broken already; only free the socket
            connection.close()


def outbound_send(mail_id: int) -> str:
    """Send one queued mail and record the outcome; running it twice sends once.

    The row stays locked while the SMTP server takes the message, so two workers never send
    it both. A temporary failure schedules the next attempt with backoff; a permanent one
    (5xx) or the last attempt marks it failed with the server's answer.
    """
    with transaction.atomic():
        mail = (
            OutboundMail.objects.select_for_update().filter(pk=mail_id, state=State.QUEUED).first()
        )
        if mail is None:
            return "nothing to send"
        now = timezone.now()
        mail.attempts += 1
        mail.updated_at = now
        try:
            if is_undecryptable(mail.body) or is_undecryptable(mail.recipients):
                raise ValueError("the mail cannot be decrypted (see the key rotation runbook)")
            sent = _send(_message(mail))
            if not sent:
                raise smtplib.SMTPException("the mail backend accepted nothing")
        except (smtplib.SMTPException, OSError, HeaderValueError, ValueError) as exc:
            reason, permanent = _describe(exc)
            mail.last_error = reason[:300]
            last = mail.attempts >= settings.MAIL_SEND_MAX_ATTEMPTS
            if permanent or last or not _backend_stores_tasks():
                mail.state = State.FAILED
                mail.next_attempt_at = None
            else:
                mail.next_attempt_at = now + retry_delay(mail.attempts)
                _schedule(mail.pk, run_after=mail.next_attempt_at)
        else:
            mail.state = State.SENT
            mail.sent_at = now
            mail.last_error = ""
            mail.next_attempt_at = None
        mail.save(
            update_fields=[
                "state",
                "attempts",
                "last_error",
                "next_attempt_at",
                "sent_at",
                "updated_at",
            ]
        )
        if mail.comment_id is not None:
            delivery_event(mail)
        return mail.state


@transaction.atomic
def mail_mark_bounced(*, message_ids: list[str]) -> int:
    """Mark the mails a delivery status notification names (by our Message-IDs) bounced;
    intake calls this next to marking the contact's address. Returns how many changed."""
    mails = list(
        OutboundMail.objects.select_for_update()
        .select_related("ticket")
        .filter(message_id__in=message_ids[:MAX_REFERENCES])
        .exclude(state=State.BOUNCED)
    )
    now = timezone.now()
    for mail in mails:
        mail.state = State.BOUNCED
        mail.next_attempt_at = None
        mail.updated_at = now
        mail.save(update_fields=["state", "next_attempt_at", "updated_at"])
        if mail.comment_id is not None:
            delivery_event(mail)
    return len(mails)


def mail_scrub(*, tickets: Any, contents: bool = False) -> int:
    """GDPR: forget the requester's address in these tickets' mail (and with ``contents`` the
    subjects and bodies too, for an anonymised ticket); unsent mail is cancelled. Runs in the
    caller's transaction (person_erase, ticket_anonymise). Returns how many rows changed."""
    mails = OutboundMail.objects.select_for_update().filter(ticket__in=tickets)
    if not contents:
        mails = mails.filter(kind__in=REQUESTER_KINDS)
    count = 0
    for mail in mails:
        mail.recipients = ""
        fields = ["recipients", "updated_at"]
        if contents:
            mail.body = ""
            mail.subject = "[purged]"
            fields += ["body", "subject"]
        if mail.state == State.QUEUED:
            mail.state, mail.last_error, mail.next_attempt_at = State.FAILED, "erased", None
            fields += ["state", "last_error", "next_attempt_at"]
        mail.updated_at = timezone.now()
        mail.save(update_fields=fields)
        count += 1
    return count
