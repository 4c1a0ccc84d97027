"""The one write path for tickets, comments, attachments and contacts: use cases grouped by
what they change (tickets, comments, contacts, attachments, retention, tags, bulk,
saved views), re-exported here so a
caller writes ``services.comment_add(...)``.

Each service is atomic and takes the acting party as keyword-only ``actor``: a staff user, the
system (``tickets.actors.SystemActor``, for commands and workers) or a contact (a requester).
It validates, saves with ``update_fields``, writes the history lines its change needs, and
builds the live event it publishes on commit (tickets/live/events.py). Business-rule failures
raise ValidationError (views show them next to the field) and change nothing. Queues and their
members are edited on the admin site (tickets/live follows membership changes).
"""

from tickets.services.agent import (
    canned_response_delete,
    canned_response_save,
    notifications_mark_read,
    ticket_follow,
    ticket_set_cc,
    ticket_set_requester,
)
from tickets.services.attachments import attachment_add
from tickets.services.base import activity_for, apply_sla
from tickets.services.bulk import BULK_ACTIONS, BulkOutcome, tickets_bulk_change
from tickets.services.comments import comment_add, reply_and_set_status
from tickets.services.contacts import contact_get_or_create, contact_save
from tickets.services.mail_intake import (
    contact_mark_bounced,
    mail_delete,
    mail_receive,
    mail_release,
    mailbox_fetched,
)
from tickets.services.retention import person_erase, ticket_anonymise, tickets_purge
from tickets.services.saved_views import saved_view_delete, saved_view_save
from tickets.services.tags import ticket_add_tag, ticket_set_tags
from tickets.services.tickets import (
    ticket_assign,
    ticket_change_description,
    ticket_change_priority,
    ticket_change_queue,
    ticket_change_status,
    ticket_change_subject,
    ticket_create,
    ticket_create_for_requester,
    ticket_set_contact,
    ticket_update,
)

__all__ = [
    "BULK_ACTIONS",
    "BulkOutcome",
    "activity_for",
    "apply_sla",
    "attachment_add",
    "canned_response_delete",
    "canned_response_save",
    "comment_add",
    "contact_get_or_create",
    "contact_mark_bounced",
    "contact_save",
    "mail_delete",
    "mail_receive",
    "mail_release",
    "mailbox_fetched",
    "notifications_mark_read",
    "person_erase",
    "reply_and_set_status",
    "saved_view_delete",
    "saved_view_save",
    "ticket_add_tag",
    "ticket_anonymise",
    "ticket_assign",
    "ticket_change_description",
    "ticket_change_priority",
    "ticket_change_queue",
    "ticket_change_status",
    "ticket_change_subject",
    "ticket_create",
    "ticket_create_for_requester",
    "ticket_follow",
    "ticket_set_cc",
    "ticket_set_contact",
    "ticket_set_requester",
    "ticket_set_tags",
    "ticket_update",
    "tickets_bulk_change",
    "tickets_purge",
]
