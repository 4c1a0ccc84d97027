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

from tickets import access, listing
from tickets.mail.outbound_models import OutboundMail
from tickets.models import (
    ACTIVE_STATUSES,
    Activity,
    Attachment,
    Comment,
    Contact,
    InboundMessage,
    Status,
    Ticket,
    TicketBody,
)
from tickets.organising_models import SavedView
from tickets.search import query as search_query
from tickets.search import snippets
from ticketsystem.crypto import is_undecryptable

DASHBOARD_LIST_SIZE = 10
DASHBOARD_FEED_SIZE = 15
DUE_SOON = listing.DUE_SOON
CONVERSATION_VERBS = (Activity.Verb.COMMENTED, Activity.Verb.NOTED)
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
        if isinstance(self.object_list, list):  # already read up to the cap (a search)
            return min(len(self.object_list), self.limit)
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
            "actor__first_name",
            "actor__last_name",
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


def filtered_tickets(user: Any, filters: dict[str, Any], sort: str | None) -> QuerySet[Ticket]:
    """Visible tickets matching the list's filters (cleaned by TicketFilterForm), sorted."""
    qs = access.visible_tickets(user).filter(listing.filter_q(user, filters))
    if q := (filters.get("q") or "").strip():
        found = search_query.parse(q)
        if not found.problem and (sort or listing.DEFAULT_SORT) == listing.DEFAULT_SORT:
            # Relevance: matches in the subject first, then the list's own order (recency).
            qs = qs.annotate(in_subject=search_query.in_subject(found, text=q))
            return qs.order_by("-in_subject", *listing.order_by(sort))
    return qs.order_by(*listing.order_by(sort))


def ticket_page(user: Any, filters: dict[str, Any], sort: str | None, raw_page: str) -> Page:
    """One page of the filtered list (the HTML page and its live resynchronisation).

    Pages through ids only (index-only scans, cheap even at deep OFFSETs), then loads the
    page's rows by primary key; counts at most LIST_COUNT_CAP matches (CappedPaginator).
    Raises PageNotAnInteger, or Http404 past the last page.
    """
    ids: Any = filtered_tickets(user, filters, sort).values_list("id", flat=True)
    q = filters.get("q", "").strip()
    found = search_query.parse(q) if q else None
    internal = access.can_read_internal_notes(user)
    if found and found.needs_confirming and not found.problem:
        # A phrase: the bounded candidates confirmed by decrypting them (a short list).
        ids = snippets.confirmed_ids(
            list(ids[: settings.SEARCH_CONFIRM_LIMIT]), found, internal=internal
        )
        paginator: Paginator = Paginator(ids, per_page=settings.TICKETS_PER_PAGE)
    else:
        wanted = int(raw_page) if raw_page.isdigit() and len(raw_page) <= 6 else 1
        paginator = CappedPaginator(ids, per_page=settings.TICKETS_PER_PAGE, wanted_page=wanted)
        if found and not found.problem:
            # A search reads its ranked matches once, up to the cap: one pass over the index
            # for both the count and the page.
            paginator.object_list = list(ids[: paginator.limit])
    try:
        if len(raw_page) > 6:
            raise EmptyPage
        page = paginator.page(raw_page)
    except EmptyPage:
        raise Http404("No such page") from None
    page_ids = list(page.object_list)
    # The requester's name is decrypted per row: only for this page's rows, in the same query.
    rows = (
        list_rows(user)
        .select_related("contact")
        .defer("contact__email", "contact__phone", "contact__email_index")
        .in_bulk(page_ids)
    )
    page.object_list = [rows[pk] for pk in page_ids if pk in rows]
    if found and not found.problem:
        snippets.attach_snippets(page.object_list, found, internal=internal)
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
        "comment_quoted": mail_quoted_text(ticket),
        # Replies and notes are in the conversation already: the history leaves them out.
        "history": ticket.activities.exclude(verb__in=CONVERSATION_VERBS)
        .select_related("actor")
        .order_by("created_at", "id"),
        "attachments": [a for a in files if a.comment_id is None],
        "comment_attachments": by_comment,
        "deliveries": reply_deliveries(ticket),
    }


def reply_deliveries(ticket: Ticket) -> dict[int, OutboundMail]:
    """Each public reply's mail (the latest, if several), by comment id."""
    mails = OutboundMail.objects.filter(ticket=ticket, comment__isnull=False).order_by("id")
    return {mail.comment_id: mail for mail in mails.only("comment_id", "state", "last_error")}


def mail_quoted_text(ticket: Ticket) -> dict[int, str]:
    """The quoted history below each mailed reply's marker, by comment id (shown folded)."""
    rows = InboundMessage.objects.filter(comment__ticket=ticket).only(
        "uid", "comment", "quoted_text"
    )
    return {
        row.comment_id: str(row.quoted_text)
        for row in rows
        if row.quoted_text and not is_undecryptable(row.quoted_text)
    }


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


def saved_views(user: Any) -> QuerySet[SavedView]:
    """The user's own views and those shared with a queue they can see."""
    ids = access.visible_queue_ids(user)
    shared = Q(queue__isnull=False) if ids is None else Q(queue_id__in=ids)
    return SavedView.objects.filter(Q(owner=user) | shared).select_related("queue")


def saved_view_counts(user: Any, views: list[SavedView]) -> dict[int, int]:
    """How many visible tickets each view lists now, in one query."""
    if not views:
        return {}
    counts = access.visible_tickets(user).aggregate(
        **{
            f"v{view.pk}": Count(
                "pk", filter=listing.filter_q(user, listing.filters_from_query(view.query))
            )
            for view in views
        }
    )
    return {view.pk: counts[f"v{view.pk}"] for view in views}
