"""Every read the pages, live endpoints, admin site and commands make of tickets, built on
tickets/access.py's visibility rules (which tickets, which history lines a user may see)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tickets import access
from tickets.mail.outbound_models import OutboundMail
from tickets.models import (
    ACTIVE_STATUSES,
    Activity,
    Attachment,
    Comment,
    Contact,
    Status,
    Ticket,
    TicketBody,
)

DASHBOARD_LIST_SIZE = 10
DASHBOARD_FEED_SIZE = 15
DUE_SOON = timedelta(hours=1)
# The list counts its matches exactly up to this many (or to the requested page); past it
# the page says "more than" and offers no "Last" link, instead of counting 100k rows.
LIST_COUNT_CAP = 2_000


class CappedPaginator(Paginator):
    """A paginator whose count reads at most ``limit`` rows: exact below the cap, else one
    row past the cap (or past the requested page), so "next" and "previous" stay right."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, wanted_page: int) -> None:
        super().__init__(object_list, per_page)
        self.limit = max(LIST_COUNT_CAP, wanted_page * per_page) + 1

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.limit].count()

    @property
    def capped(self) -> bool:
        """True when there are more matches than were counted (count is then a floor)."""
        return self.count >= self.limit


def list_rows(user: Any) -> QuerySet[Ticket]:
    """Visible tickets with what a list row shows, and nothing it does not."""
    return (
        access.visible_tickets(user)
        .select_related("queue", "assignee")
        .defer("uid", "queue__description", "assignee__password")
    )


def detail_queryset() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("queue", "assignee", "contact", "created_by", "body")


def live_ticket_queryset() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("queue", "assignee")


def activity_feed(user: Any) -> QuerySet[Activity]:
    """History lines the user may see: recorded in a visible queue, and the ticket is still
    there (a line shows the ticket's current subject, which is not the agent's to see once
    it moved away)."""
    return access.restrict_activity(Activity.objects.all(), user)


def dashboard_data(user: Any) -> dict[str, Any]:
    """Everything the dashboard shows; also the resynchronisation answer for live pages."""
    now = timezone.now()
    tickets = access.visible_tickets(user)
    # COUNT(*) (not COUNT(id)) lets PostgreSQL answer from the (status, queue) index alone.
    by_status = dict(tickets.values_list("status").annotate(n=Count("*")).order_by())
    counts = {status: by_status.get(status, 0) for status in Status.values}
    active = tickets.filter(status__in=ACTIVE_STATUSES)
    # COUNT(status) counts rows as COUNT(*) would (status is NOT NULL; Django allows no
    # filter on COUNT(*)) and, unlike COUNT(id), reads only columns of the partial covering
    # index ticket_active_cover: an index-only scan, no heap rows.
    totals = active.aggregate(
        mine=Count("status", filter=Q(assignee=user)),
        unassigned=Count("status", filter=Q(assignee__isnull=True)),
        overdue=Count("status", filter=Q(due_at__lt=now)),
        due_soon=Count("status", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
    )
    rows = list_rows(user).filter(status__in=ACTIVE_STATUSES)
    activity = (
        activity_feed(user)
        .select_related("actor", "ticket")
        .only(
            "verb",
            "old_value",
            "new_value",
            "created_at",
            "actor_name",
            "ticket__subject",
            "ticket__id",
            "actor__username",
        )
    )
    size = DASHBOARD_LIST_SIZE
    return {
        "counts": counts,
        "totals": totals,
        "mine": rows.filter(assignee=user).order_by("due_at", "id")[:size],
        "unassigned": rows.filter(assignee__isnull=True).order_by("-updated_at", "-id")[:size],
        "overdue": rows.filter(due_at__lt=now).order_by("due_at", "id")[:size],
        "due_soon": rows.filter(due_at__gte=now, due_at__lt=now + DUE_SOON).order_by(
            "due_at", "id"
        )[:size],
        "activity": activity[:DASHBOARD_FEED_SIZE],
        "now": now,
    }


def next_boundary(user: Any) -> str | None:
    """When the dashboard's overdue or due-soon counts next change with no event: the
    earliest moment an active ticket becomes due soon or overdue."""
    now = timezone.now()
    active = access.visible_tickets(user).filter(status__in=ACTIVE_STATUSES)
    found = active.aggregate(
        overdue=Min("due_at", filter=Q(due_at__gt=now)),
        due_soon=Min("due_at", filter=Q(due_at__gt=now + DUE_SOON)),
    )
    moments = [found["overdue"], found["due_soon"] and found["due_soon"] - DUE_SOON]
    moments = [m for m in moments if m is not None]
    return min(moments).isoformat() if moments else None


def filtered_tickets(user: Any, filters: dict[str, Any], sort: tuple[str, ...]) -> QuerySet[Ticket]:
    """Visible tickets matching the list's filters (cleaned by TicketFilterForm), sorted."""
    qs = access.visible_tickets(user)
    if q := filters.get("q", "").strip():
        pk = Ticket.pk_from_reference(q.upper()) or (
            int(q) if q.isdigit() and len(q) < 12 else None
        )
        match = Q(subject__icontains=q)
        qs = qs.filter(match | Q(pk=pk) if pk else match)
    status = filters.get("status")
    if status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if filters.get("queue"):
        qs = qs.filter(queue=filters["queue"])
    if filters.get("priority"):
        qs = qs.filter(priority=filters["priority"])
    assignee = filters.get("assignee")
    if assignee == "me":
        qs = qs.filter(assignee=user)
    elif assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee_id=int(assignee))
    return qs.order_by(*sort)


def ticket_page(user: Any, filters: dict[str, Any], sort: tuple[str, ...], raw_page: str) -> Page:
    """One page of the filtered list (the HTML page and its live resynchronisation).

    Pages through ids only (index-only scans, cheap even at deep OFFSETs), then loads the
    page's rows by primary key; counts at most LIST_COUNT_CAP matches (CappedPaginator).
    Raises PageNotAnInteger, or Http404 past the last page.
    """
    ids = filtered_tickets(user, filters, sort).values_list("id", flat=True)
    wanted = int(raw_page) if raw_page.isdigit() and len(raw_page) <= 6 else 1
    paginator = CappedPaginator(ids, per_page=settings.TICKETS_PER_PAGE, wanted_page=wanted)
    try:
        if len(raw_page) > 6:
            raise EmptyPage
        page = paginator.page(raw_page)
    except EmptyPage:
        raise Http404("No such page") from None
    page_ids = list(page.object_list)
    rows = list_rows(user).in_bulk(page_ids)
    page.object_list = [rows[pk] for pk in page_ids if pk in rows]
    return page


def ticket_conversation(ticket: Ticket) -> dict[str, Any]:
    """A ticket's comments, history lines and files for its page."""
    files = list(ticket.attachments.select_related("uploaded_by").order_by("created_at", "id"))
    by_comment: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.comment_id is not None:
            by_comment.setdefault(attachment.comment_id, []).append(attachment)
    return {
        "comments": ticket.comments.select_related("author", "author_contact").order_by(
            "created_at", "id"
        ),
        "history": ticket.activities.select_related("actor").order_by("created_at", "id"),
        "attachments": [a for a in files if a.comment_id is None],
        "comment_attachments": by_comment,
        "deliveries": reply_deliveries(ticket),
    }


def reply_deliveries(ticket: Ticket) -> dict[int, OutboundMail]:
    """Each public reply's mail (the latest, if several), by comment id."""
    mails = OutboundMail.objects.filter(ticket=ticket, comment__isnull=False).order_by("id")
    return {mail.comment_id: mail for mail in mails.only("comment_id", "state", "last_error")}


def ticket_log_entries(ticket: Ticket) -> QuerySet[LogEntry]:
    """Model history of a ticket, its description, comments and attachments, newest first."""
    types = ContentType.objects.get_for_models(Ticket, TicketBody, Comment, Attachment)
    return (
        LogEntry.objects.filter(
            Q(content_type__in=[types[Ticket], types[TicketBody]], object_id=ticket.pk)
            | Q(
                content_type=types[Comment],
                object_id__in=Comment.objects.filter(ticket=ticket).values("pk"),
            )
            | Q(
                content_type=types[Attachment],
                object_id__in=Attachment._base_manager.filter(ticket=ticket).values("pk"),
            )
        )
        .select_related("content_type", "actor")
        .order_by("-timestamp", "-id")
    )


def find_contacts(email: str) -> list[Contact]:
    """Contacts holding this email address (exact match through the blind index)."""
    email = (email or "").strip()
    if not email:
        return []
    return list(Contact.objects.filter(email_index=Contact.email_lookup(email)).order_by("pk"))


def purge_candidates(*, older_than: timedelta, now: datetime | None = None) -> QuerySet[Ticket]:
    """Closed, not yet purged tickets closed before now - older_than, oldest first."""
    cutoff = (now or timezone.now()) - older_than
    return (
        Ticket.objects.filter(status=Status.CLOSED, purged_at__isnull=True)
        .filter(Q(closed_at__lt=cutoff) | Q(closed_at__isnull=True, updated_at__lt=cutoff))
        .order_by("closed_at", "pk")
    )


def contacts_left_without_tickets(ticket_ids: list[int]) -> list[Contact]:
    """Contacts of these tickets, not erased, with no unpurged ticket outside them: what
    purging these tickets leaves without any reason to keep."""
    candidates = Contact.objects.filter(tickets__in=ticket_ids, erased_at__isnull=True).distinct()
    keep = (
        Ticket.objects.filter(contact__in=candidates.values("pk"), purged_at__isnull=True)
        .exclude(pk__in=ticket_ids)
        .values("contact_id")
    )
    return list(
        Contact.objects.filter(pk__in=candidates.values("pk")).exclude(pk__in=keep).order_by("pk")
    )
