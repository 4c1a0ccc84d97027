"""Use cases on requesters (contacts): find or create one by email, save an admin edit."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from tickets import access, search
from tickets.actors import is_contact, is_system
from tickets.models import Contact
from tickets.services.base import validate
from ticketsystem.roles import is_manager


@transaction.atomic
def contact_get_or_create(*, actor: Any, email: str, name: str = "", phone: str = "") -> Contact:
    """Find a contact by email (through its blind index) or create one (find_or_add_contact,
    in a transaction of its own)."""
    return find_or_add_contact(actor=actor, email=email, name=name, phone=phone)


def find_or_add_contact(*, actor: Any, email: str, name: str = "", phone: str = "") -> Contact:
    """contact_get_or_create's work, for a service that holds the transaction already (a
    nested atomic block would cost a savepoint and its release: two round trips).

    A staff member reuses only a contact they may already see: one with a ticket in their
    queues, or with no ticket yet; otherwise typing an email address would show an agent the
    name and phone number another queue holds about that person. The system (mail intake)
    reuses any contact with that address: it is the same requester.
    """
    if is_contact(actor):
        raise PermissionDenied(_("A requester cannot create contacts."))
    email = email.strip()
    existing = Contact.objects.filter(
        email_index=Contact.email_lookup(email), erased_at__isnull=True
    )
    queue_ids = None if is_system(actor) else access.visible_queue_ids(actor)
    if queue_ids is not None:
        existing = existing.filter(Q(tickets__queue_id__in=queue_ids) | Q(tickets__isnull=True))
    found = existing.first()
    if found is not None:
        return found
    contact = Contact(email=email, name=name.strip(), phone=phone.strip())
    validate(contact)
    contact.save(force_insert=True)
    return contact


@transaction.atomic
def contact_save(*, actor: Any, contact: Contact) -> Contact:
    """Save a contact added or corrected on the admin site (managers only), validated and
    with its email's blind index kept in step."""
    if not is_manager(actor):
        raise PermissionDenied(_("Only managers can edit contacts."))
    validate(contact)
    if contact.pk is None:
        contact.save(force_insert=True)
    else:
        contact.save(update_fields=["name", "email", "email_index", "phone"])
        search.index_contact_tickets(contact)
    return contact
