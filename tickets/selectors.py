"""Every read the pages, live endpoints, admin site and commands make of tickets, built on
tickets/access.py's visibility rules (which tickets, which history lines a user may see)."""

from __future__ import annotations

import operator
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import reduce
from typing import Any
from urllib.parse import urlencode

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import PageNotAnInteger
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from tickets import access, keyset, listing
from tickets.count_models import StatusCount
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
from ticketsystem.serving import unprepared

DASHBOARD_LIST_SIZE = 10
DASHBOARD_FEED_SIZE = 15
DUE_SOON = listing.DUE_SOON
CONVERSATION_VERBS = (Activity.Verb.COMMENTED, Activity.Verb.NOTED)
# The list counts its matches exactly up to this many (or to the requested page); past it
# the page says "more than" and offers no "Last" link, instead of counting 100k rows.
LIST_COUNT_CAP = 2_000


# What a row of the list or a dashboard panel shows, and what its live event carries
# (tickets/live/events.py ticket_fields): no other column is read for a page of rows.
ROW_FIELDS = (
    "subject",
    "status",
    "priority",
    "queue__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "contact_id",
    "due_at",
    "updated_at",
)


def list_rows(user: Any, *, requester: bool = False) -> QuerySet[Ticket]:
    """Visible tickets with what a list row shows, and nothing it does not (``requester``:
    with the requester's name, decrypted per row)."""
    rows = access.visible_tickets(user).select_related("queue", "assignee")
    if requester:
        return rows.select_related("contact").only(*ROW_FIELDS, "contact__uid", "contact__name")
    return rows.only(*ROW_FIELDS)


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
    # Kept by a trigger on the ticket table (tickets/count_models.py): a few rows per queue
    # instead of counting every visible ticket, exact in the same transaction as each change.
    by_status = dict(
        access.restrict(StatusCount.objects.all(), user)  # type: ignore[arg-type]
        .values_list("status")
        .annotate(total=Sum("n"))
        .order_by()
    )
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


def filtered_tickets(
    user: Any, filters: dict[str, Any], sort: str | None
) -> tuple[QuerySet[Ticket], list[listing.SortKey]]:
    """Visible tickets matching the list's filters (cleaned by TicketFilterForm), and the
    terms of their order."""
    qs = access.visible_tickets(user).filter(listing.filter_q(user, filters))
    keys = listing.sort_keys(sort, only_active=listing.only_active(filters))
    if q := (filters.get("q") or "").strip():
        found = search_query.parse(q)
        if not found.problem and listing.canonical_sort(sort) == listing.DEFAULT_SORT:
            # Relevance: matches in the subject first, then the list's own order (recency).
            keys = [listing.SortKey(search_query.in_subject(found, text=q), descending=True), *keys]
    return qs, keys


def ticket_page(
    user: Any,
    filters: dict[str, Any],
    sort: str | None,
    *,
    page: str = "1",
    after: str = "",
    before: str = "",
) -> keyset.ListPage:
    """One page of the filtered list (the HTML page and its live resynchronisation).

    "Next" and "Previous" are keyset cursors (tickets/keyset.py): the rows after the last
    (before the first) row's sort key, so a deep page costs what page 1 costs; a page number
    (the first pages, "Last") reads by OFFSET. Only ids are read for paging (index scans),
    then the page's rows by primary key; the count stops at LIST_COUNT_CAP.
    Raises PageNotAnInteger, keyset.BadCursor, or Http404 past the last page.
    """
    sort = listing.canonical_sort(sort)
    qs, keys = filtered_tickets(user, filters, sort)
    q = filters.get("q", "").strip()
    found = search_query.parse(q) if q else None
    internal = access.can_read_internal_notes(user)
    if after and before:
        raise keyset.BadCursor("both directions")
    # A search's plan depends on how common its tokens are: planned for each search, never
    # from a prepared statement's generic plan (6 ms slower on a one-word search here).
    with unprepared() if found else nullcontext():
        if found and found.needs_confirming and not found.problem:
            page_ids, result = _confirmed_page(qs, keys, found, internal, page, after or before)
        else:
            page_ids, result = _keyset_page(
                qs, keys, sort, page=page, after=after, before=before, search=found is not None
            )
    # The requester's name is decrypted per row: only for this page's rows, in the same query.
    rows = list_rows(user, requester=True).in_bulk(page_ids)
    result.object_list = [rows[pk] for pk in page_ids if pk in rows]
    if found and not found.problem:
        snippets.attach_snippets(result.object_list, found, internal=internal)
    return result


def _page_number(raw: str) -> int:
    """A page number from the URL: not a number is PageNotAnInteger, none such a 404."""
    if len(raw) > 12:
        raise Http404("No such page")
    try:
        number = int(raw)
    except ValueError:
        raise PageNotAnInteger("not a whole number") from None
    if not 1 <= number <= keyset.MAX_PAGE_NUMBER:
        raise Http404("No such page")
    return number


def _keyset_page(
    qs: QuerySet[Ticket],
    keys: list[listing.SortKey],
    sort: str,
    *,
    page: str,
    after: str,
    before: str,
    search: bool = False,
) -> tuple[list[int], keyset.ListPage]:
    per_page = settings.TICKETS_PER_PAGE
    cursor = None
    counted: int | None = None
    if search and not (after or before):
        # A search by page number reads its ranked matches once, up to the count's cap:
        # one pass over the index for both the page and the count.
        number = _page_number(page)
        limit = max(LIST_COUNT_CAP, number * per_page) + 1
        ranked = keyset.rows(qs, keys, None, limit)
        counted = len(ranked)
        found = ranked[(number - 1) * per_page : number * per_page + 1]
        more_before, more_after = number > 1, len(found) > per_page
    elif after or before:
        cursor = keyset.read(after or before, sort=sort, before=bool(before), keys=len(keys))
        number = cursor.number
        found = keyset.rows(qs, keys, cursor, per_page + 1)
        if not cursor.before:
            more_before, more_after = True, len(found) > per_page
        elif len(found) > per_page:
            more_before, more_after = True, True
            found = found[1:]  # the extra row only said there is a page before this one
        else:  # back at the start (or the rows moved): page 1 as it is now
            cursor, number, more_before = None, 1, False
            found = keyset.rows(qs, keys, None, per_page + 1)
            more_after = len(found) > per_page
    else:
        number = _page_number(page)
        found = keyset.rows(qs, keys, None, per_page + 1, offset=(number - 1) * per_page)
        more_before, more_after = number > 1, len(found) > per_page
    if not found and more_before:
        raise Http404("No such page")
    found = found[:per_page]
    # Counted up to the cap, or for a page number up to that page (then exact near the end).
    limit = max(LIST_COUNT_CAP, 0 if cursor else number * per_page) + 1
    count = counted if counted is not None else qs.order_by()[:limit].count()
    result = keyset.ListPage([], number, count, count >= limit, per_page)
    if not result.capped:  # an exact count: keep the number shown within it
        number = min(number, result.num_pages)
    result.number = number = max(number, 2) if more_before else 1
    if more_after:
        ahead = keyset.Cursor(sort, keyset.key_of(found[-1]), False, number + 1)
        result.next_param = urlencode({"after": ahead.token()})
    if more_before:
        back = keyset.Cursor(sort, keyset.key_of(found[0]), True, number - 1)
        result.previous_param = urlencode({"before": back.token()})
    return [row[0] for row in found], result


def _confirmed_page(
    qs: QuerySet[Ticket],
    keys: list[listing.SortKey],
    found: Any,
    internal: bool,
    page: str,
    cursor: str,
) -> tuple[list[int], keyset.ListPage]:
    """A phrase: the bounded candidates confirmed by decrypting them (a short list, paged by
    number; there is no sort key to continue from)."""
    if cursor:
        raise keyset.BadCursor("a phrase search pages by number")
    per_page = settings.TICKETS_PER_PAGE
    candidates = qs.order_by(*(key.order() for key in keys)).values_list("id", flat=True)
    ids = snippets.confirmed_ids(
        list(candidates[: settings.SEARCH_CONFIRM_LIMIT]), found, internal=internal
    )
    number = _page_number(page)
    start = (number - 1) * per_page
    if start >= len(ids) and number > 1:
        raise Http404("No such page")
    result = keyset.ListPage([], number, len(ids), False, per_page)
    if start + per_page < len(ids):
        result.next_param = urlencode({"page": number + 1})
    if number > 1:
        result.previous_param = urlencode({"page": number - 1})
    return ids[start : start + per_page], result


def page_flag(ticket: Ticket, name: str) -> bool:
    """Whether the ticket page should read ``name`` (files, mail_in, mail_out, canned): the
    answer read with the ticket (agent_selectors.detail_page_queryset), else True."""
    return bool(getattr(ticket, f"page_{name}", True))


def ticket_conversation(ticket: Ticket) -> dict[str, Any]:
    """A ticket's comments, history lines and files for its page."""
    files = (
        list(ticket.attachments.select_related("uploaded_by").order_by("created_at", "id"))
        if page_flag(ticket, "files")
        else []
    )
    by_comment: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.comment_id is not None:
            by_comment.setdefault(attachment.comment_id, []).append(attachment)
    return {
        "comments": ticket.comments.select_related("author", "author_contact").order_by(
            "created_at", "id"
        ),
        "comment_quoted": mail_quoted_text(ticket) if page_flag(ticket, "mail_in") else {},
        # Replies and notes are in the conversation already: the history leaves them out.
        "history": ticket.activities.exclude(verb__in=CONVERSATION_VERBS)
        .select_related("actor")
        .order_by("created_at", "id"),
        "attachments": [a for a in files if a.comment_id is None],
        "comment_attachments": by_comment,
        "deliveries": reply_deliveries(ticket) if page_flag(ticket, "mail_out") else {},
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
    conditions = {
        view.pk: listing.filter_q(user, listing.filters_from_query(view.query)) for view in views
    }
    tickets = access.visible_tickets(user)
    if all(conditions.values()):  # (an empty Q, a view of every ticket, would vanish in OR)
        # Only rows some view lists are read (through the indexes of their conditions).
        tickets = tickets.filter(reduce(operator.or_, conditions.values()))
    # COUNT(status) (a NOT NULL column, so it counts rows) can be answered from an index.
    counts = tickets.aggregate(
        **{f"v{pk}": Count("status", filter=condition) for pk, condition in conditions.items()}
    )
    return {view.pk: counts[f"v{view.pk}"] for view in views}
