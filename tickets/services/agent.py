"""Use cases around an agent's work on a ticket: the requester and CC contacts, following a
ticket, mention notifications and canned responses. Atomic, keyword-only ``actor``."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import access, search
from tickets.actors import staff_user
from tickets.agent_models import CannedResponse, Notification, TicketCC, TicketWatch
from tickets.live.groups import user_group
from tickets.live.kinds import EventKind
from tickets.live.publish import publish, to_json
from tickets.models import Comment, Status, Ticket, user_display
from tickets.services.base import lock, validate
from tickets.services.contacts import contact_get_or_create
from tickets.services.mail_out import mail_on_mention
from tickets.services.tickets import ticket_set_contact
from ticketsystem.roles import is_manager, is_staff_member

MAX_CC = 20
# @username: letters, digits and Django's username punctuation (a trailing dot ends a sentence).
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.@+-]*[\w@+-])")


def _require_staff(actor: Any) -> Any:
    user = staff_user(actor)
    if user is None or not is_staff_member(user):
        raise PermissionDenied(_("Only staff can do this."))
    return user


@transaction.atomic
def ticket_set_requester(*, actor: Any, ticket: Ticket, email: str, name: str = "") -> Ticket:
    """Make the person with this email the ticket's requester (found or created); an empty
    email removes the requester."""
    _require_staff(actor)
    contact = contact_get_or_create(actor=actor, email=email, name=name) if email else None
    return ticket_set_contact(actor=actor, ticket=ticket, contact=contact)


@transaction.atomic
def ticket_set_cc(*, actor: Any, ticket: Ticket, emails: list[str]) -> list[TicketCC]:
    """Copy exactly these addresses on the ticket's public replies (contacts found or made)."""
    _require_staff(actor)
    ticket = lock(ticket)
    if ticket.status == Status.CLOSED:
        raise ValidationError({"cc": _("A closed ticket cannot be changed.")})
    unique = list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))
    if len(unique) > MAX_CC:
        raise ValidationError({"cc": _("Copy at most %(n)d addresses.") % {"n": MAX_CC}})
    contacts = [contact_get_or_create(actor=actor, email=email) for email in unique]
    wanted = {c.pk for c in contacts if c.pk != ticket.contact_id}
    removed = TicketCC.objects.filter(ticket=ticket).exclude(contact_id__in=wanted).delete()[0]
    have = set(TicketCC.objects.filter(ticket=ticket).values_list("contact_id", flat=True))
    for contact_id in wanted - have:
        TicketCC.objects.create(ticket=ticket, contact_id=contact_id)
    if removed or wanted != have:
        search.index_ticket(ticket)  # CC contacts' names and addresses are searchable
    return list(TicketCC.objects.filter(ticket=ticket).select_related("contact"))


@transaction.atomic
def ticket_follow(*, actor: Any, ticket: Ticket, follow: bool = True) -> bool:
    """Follow (or stop following) a ticket the actor can see. Returns whether they follow."""
    user = _require_staff(actor)
    if not access.can_see_ticket(user, ticket):
        raise PermissionDenied(_("Not visible."))
    if follow:
        TicketWatch.objects.get_or_create(ticket=ticket, user=user)
    else:
        TicketWatch.objects.filter(ticket=ticket, user=user).delete()
    return follow


def mentioned_users(body: str) -> list[Any]:
    names = set(MENTION_RE.findall(body))
    if not names:
        return []
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    return [u for u in users if is_staff_member(u)]


def notify_mentions(*, actor: Any, ticket: Ticket, comment: Comment) -> list[Notification]:
    """Called by comment_add inside its transaction: notify each @mentioned colleague who can
    see the ticket (others learn nothing), in-app and live on commit."""
    author = staff_user(actor)
    if author is None or not comment.is_internal:
        return []
    made = []
    for user in mentioned_users(str(comment.body)):
        if user.pk == author.pk or not access.can_see_ticket(user, ticket):
            continue
        made.append(
            Notification.objects.create(
                user=user,
                ticket=ticket,
                comment=comment,
                actor=author,
                kind=Notification.Kind.MENTION,
            )
        )
    for note in made:
        _announce(note, ticket, author)
        mail_on_mention(actor=author, ticket=ticket, comment=comment, agent=note.user)
    return made


def _announce(note: Notification, ticket: Ticket, author: Any) -> None:
    unread = Notification.objects.filter(user_id=note.user_id, read_at__isnull=True).count()
    frame = to_json(
        {
            "type": EventKind.MENTION.value,
            "ticket": ticket.pk,
            "ref": ticket.reference,
            "url": f"{ticket.get_absolute_url()}#c-{note.comment_id}",
            "comment": note.comment_id,
            "by": user_display(author),
            "unread": unread,
        }
    )
    message = {"type": "notification", "frame": frame}
    group = user_group(note.user_id)
    transaction.on_commit(lambda: publish([group], message))


@transaction.atomic
def notifications_mark_read(*, actor: Any, ids: list[int] | None = None) -> int:
    """Mark the actor's notifications read (these ids, or all). Returns how many changed."""
    user = _require_staff(actor)
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def canned_response_save(*, actor: Any, response: CannedResponse) -> CannedResponse:
    """Save a canned response: managers any; agents only their own personal ones."""
    user = _require_staff(actor)
    if not is_manager(user):
        if response.pk is not None:
            stored = CannedResponse.objects.filter(pk=response.pk).values("owner_id").first()
            if stored is None or stored["owner_id"] != user.pk:
                raise PermissionDenied(_("Not your canned response."))
        response.owner = user
        if response.queue_id is not None and not access.can_see_queue(user, response.queue_id):
            raise ValidationError({"queue": _("Select a queue you are a member of.")})
    response.updated_at = timezone.now()
    validate(response)
    response.save()
    return response


@transaction.atomic
def canned_response_delete(*, actor: Any, response: CannedResponse) -> None:
    user = _require_staff(actor)
    if not is_manager(user) and response.owner_id != user.pk:
        raise PermissionDenied(_("Not your canned response."))
    response.delete()
