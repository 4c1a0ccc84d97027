"""Reads around an agent's work: canned responses for a ticket (placeholders filled in),
CC contacts, who follows what, and a user's notifications. Tickets are read through
tickets/access.py, so nothing here shows a ticket its reader may not see."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from tickets import access, selectors
from tickets.agent_models import CannedResponse, Notification, TicketCC, TicketWatch
from tickets.labels import PRIORITY_LABELS
from tickets.mail.outbound_models import OutboundMail, QueueMailSettings, render_template
from tickets.models import Attachment, InboundMessage, Ticket, user_display

NOTIFICATIONS_SHOWN = 50


def canned_for(user: Any, ticket: Ticket) -> QuerySet[CannedResponse]:
    """Global ones, the ticket's queue's, and the user's own (for no queue or this one)."""
    here = Q(queue__isnull=True) | Q(queue_id=ticket.queue_id)
    return CannedResponse.objects.filter(here & (Q(owner__isnull=True) | Q(owner=user)))


def detail_page_queryset(user: Any) -> QuerySet[Ticket]:
    """The ticket page's read: the ticket with, in the same statement, whether the user
    follows it and whether it has files, mail in or out, and canned responses for this
    user, so the page skips the reads that would find nothing (``page_*`` attributes, read
    by ``selectors.page_flag``)."""
    ticket = OuterRef("pk")
    canned = (Q(queue__isnull=True) | Q(queue_id=OuterRef("queue_id"))) & (
        Q(owner__isnull=True) | Q(owner=user)
    )
    return selectors.detail_queryset().annotate(
        page_following=Exists(TicketWatch.objects.filter(ticket=ticket, user=user)),
        page_files=Exists(Attachment.objects.filter(ticket=ticket)),
        page_mail_in=Exists(InboundMessage.objects.filter(comment__ticket=ticket)),
        page_mail_out=Exists(OutboundMail.objects.filter(ticket=ticket, comment__isnull=False)),
        page_canned=Exists(CannedResponse.objects.filter(canned)),
    )


def canned_rendered(user: Any, ticket: Ticket) -> list[dict[str, Any]]:
    """The composer's canned responses with their placeholders filled in for this ticket."""
    responses = list(canned_for(user, ticket)) if selectors.page_flag(ticket, "canned") else []
    if not responses:
        return []
    contact = ticket.contact
    settings_row = QueueMailSettings.objects.filter(queue_id=ticket.queue_id).first()
    signature = settings_row.signature if settings_row else ""
    values = {
        "requester_name": str(contact.name) if contact and not contact.erased_at else "",
        "reference": ticket.reference,
        "agent": user_display(user),
        "queue": ticket.queue.name,
        "signature": render_template(signature, {"queue": ticket.queue.name}),
    }
    return [
        {
            "id": r.pk,
            "name": r.name,
            "body": render_template(r.body, values),
            "status": r.set_status,
            "status_label": str(r.get_set_status_display()) if r.set_status else "",
            "priority": r.set_priority,
            "priority_label": str(PRIORITY_LABELS.get(r.set_priority, ""))
            if r.set_priority
            else "",
        }
        for r in responses
    ]


def own_canned(user: Any) -> QuerySet[CannedResponse]:
    return CannedResponse.objects.filter(owner=user).select_related("queue")


def shared_canned(user: Any) -> QuerySet[CannedResponse]:
    """Managers' shared responses the user may use (global or their queues)."""
    ids = access.visible_queue_ids(user)
    shared = CannedResponse.objects.filter(owner__isnull=True).select_related("queue")
    if ids is None:
        return shared
    return shared.filter(Q(queue__isnull=True) | Q(queue_id__in=ids))


def ticket_cc(ticket: Ticket) -> list[TicketCC]:
    return list(TicketCC.objects.filter(ticket=ticket).select_related("contact").order_by("id"))


def is_following(user: Any, ticket: Ticket) -> bool:
    if hasattr(ticket, "page_following"):
        return bool(ticket.page_following)
    return TicketWatch.objects.filter(user=user, ticket=ticket).exists()


def followed_tickets(user: Any) -> QuerySet[Ticket]:
    """Tickets the user follows and may still see, most recently changed first."""
    return (
        access.visible_tickets(user)
        .filter(watches__user=user)
        .select_related("queue", "assignee")
        .order_by("-updated_at", "-id")
    )


def notifications(user: Any) -> list[Notification]:
    """The user's latest notifications about tickets they can still see."""
    rows = Notification.objects.filter(user=user).select_related("ticket", "actor")
    ids = access.visible_queue_ids(user)
    if ids is not None:
        rows = rows.filter(ticket__queue_id__in=ids)
    return list(rows[:NOTIFICATIONS_SHOWN])


def unread_count(user: Any) -> int:
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    ids = access.visible_queue_ids(user)
    if ids is not None:
        rows = rows.filter(ticket__queue_id__in=ids)
    return rows.count()
