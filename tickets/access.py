"""Who may see and change which tickets: the one answer used by views, search, consumers,
exports and the admin site.

Agents see tickets of the queues they are members of; managers and admins see all. A ticket
the user may not see does not exist for them: callers answer 404, never 403.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Expression, OuterRef, Q, QuerySet
from django.http import Http404

from tickets.models import Queue, Ticket
from ticketsystem.roles import ADMIN, MANAGER, ROLES, is_manager, is_staff_member

# The user's queue ids, cached on the user object per request (or loaded with the user:
# accounts/backends.py, registered in tickets/apps.py).
QUEUE_IDS_ATTRIBUTE = "_ticketsystem_queue_ids"


def queue_ids_of_user() -> Expression:
    """The queues a user row is a member of, as an array (annotated on the request's user)."""
    members = Queue.members.through.objects.filter(user_id=OuterRef("pk"))
    return ArraySubquery(members.values("queue_id"))


def visible_queue_ids(user: Any) -> list[int] | None:
    """Ids of the queues the user may see, or None for "all queues". Cached per request."""
    if not is_staff_member(user):
        return []
    if is_manager(user):
        return None
    cached = getattr(user, QUEUE_IDS_ATTRIBUTE, None)
    if cached is None:
        cached = list(user.queues.values_list("id", flat=True))
        setattr(user, QUEUE_IDS_ATTRIBUTE, cached)
    return cached


def visible_queues(user: Any) -> QuerySet[Queue]:
    ids = visible_queue_ids(user)
    return Queue.objects.all() if ids is None else Queue.objects.filter(id__in=ids)


def restrict(queryset: QuerySet[Ticket], user: Any) -> QuerySet[Ticket]:
    """Narrow any ticket queryset to what the user may see."""
    ids = visible_queue_ids(user)
    return queryset if ids is None else queryset.filter(queue_id__in=ids)


def restrict_ticket_rows(queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """Narrow rows that belong to a ticket (comments, history lines) to visible tickets."""
    ids = visible_queue_ids(user)
    return queryset if ids is None else queryset.filter(ticket__queue_id__in=ids)


def restrict_activity(queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """Narrow history lines to those the user may see: recorded in a visible queue, and the
    ticket is still in one (a line shows the ticket's current subject)."""
    ids = visible_queue_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(queue_id__in=ids, ticket__queue_id__in=ids)


def can_read_internal_notes(user: Any) -> bool:
    """Whether the user reads internal notes on the tickets they see: today every staff
    member does (a ticket is visible to its queue's agents and to managers only)."""
    return is_staff_member(user)


def visible_tickets(user: Any) -> QuerySet[Ticket]:
    return restrict(Ticket.objects.all(), user)


def can_see_queue(user: Any, queue_id: int) -> bool:
    ids = visible_queue_ids(user)
    return ids is None or queue_id in ids


def can_see_ticket(user: Any, ticket: Ticket) -> bool:
    return can_see_queue(user, ticket.queue_id)


def visible_ticket_queue_id(queue_ids: Collection[int] | None, ticket_id: int) -> int | None:
    """The queue of this ticket if it is in one of ``queue_ids`` (from visible_queue_ids,
    None: all queues); None if not visible or not there. For holders of a user's queue ids
    rather than the user (an open websocket)."""
    tickets = Ticket.objects.filter(pk=ticket_id)
    if queue_ids is not None:
        tickets = tickets.filter(queue_id__in=queue_ids)
    return tickets.values_list("queue_id", flat=True).first()


def get_ticket_or_404(
    user: Any, reference: str, queryset: QuerySet[Ticket] | None = None
) -> Ticket:
    """The ticket with this reference if the user may see it; otherwise Http404."""
    pk = Ticket.pk_from_reference(reference)
    if pk is None:
        raise Http404("No such ticket")
    qs = restrict(Ticket.objects.all() if queryset is None else queryset, user)
    try:
        return qs.get(pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket") from None


def assignable_users(queue: Queue) -> QuerySet[Any]:
    """Active users who may hold a ticket of this queue: its members, managers and admins."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(queues=queue) | Q(groups__name__in=[MANAGER, ADMIN]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def is_assignable(user: Any, queue: Queue) -> bool:
    return assignable_users(queue).filter(pk=user.pk).exists()


def assignee_filter_choices(user: Any) -> list[tuple[int, str]]:
    """(id, display name) of the people whose tickets this user can list: active staff who work
    the user's queues, plus managers and admins."""
    user_model = get_user_model()
    people = user_model.objects.filter(is_active=True)
    ids = visible_queue_ids(user)
    roles = Q(groups__name__in=[MANAGER, ADMIN]) | Q(is_superuser=True)
    people = people.filter(
        Q(groups__name__in=ROLES) | Q(is_superuser=True)
        if ids is None
        else Q(queues__in=ids) | roles
    )
    people = people.distinct().order_by("username")
    rows = people.values_list("id", "username", "first_name", "last_name")
    return [(pk, f"{first} {last}".strip() or name) for pk, name, first, last in rows]


def is_participant(contact: Any, ticket: Ticket) -> bool:
    """A requester may write on a ticket they opened or are copied on (CC), nothing else."""
    if ticket.contact_id == contact.pk:
        return True
    return ticket.cc_entries.filter(contact=contact).exists()
