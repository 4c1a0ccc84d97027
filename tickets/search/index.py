"""Keeping the token index in step: each service calls one of these inside its own
transaction, so the index is never behind the tickets it covers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tickets.models import Attachment, Comment, Contact, Ticket
from tickets.search.models import Scope, SearchToken
from tickets.search.text import all_terms
from tickets.search.tokens import tokens

Documents = dict[int, dict[int, list[str]]]  # ticket id -> scope -> texts


def documents(ticket_ids: Iterable[int], *, internal: bool = True) -> Documents:
    """The plaintext of these tickets by scope, decrypted: subject, description, requester,
    replies, internal notes (if ``internal``) and file names. Four queries for any number."""
    ids = list(ticket_ids)
    docs: Documents = defaultdict(lambda: defaultdict(list))
    rows = Ticket.objects.filter(pk__in=ids).values_list(
        "pk", "subject", "description", "contact_id", "purged_at"
    )
    contact_of: dict[int, list[int]] = defaultdict(list)
    for pk, subject, description, contact_id, purged_at in rows:
        if purged_at is not None:
            continue  # anonymised: nothing left to find it by
        docs[pk][Scope.SUBJECT].append(subject)
        docs[pk][Scope.PUBLIC].append(description)
        if contact_id:
            contact_of[contact_id].append(pk)
    for contact in Contact.objects.filter(pk__in=contact_of, erased_at__isnull=True).only(
        "name", "email"
    ):
        for pk in contact_of[contact.pk]:
            docs[pk][Scope.PUBLIC] += [contact.name, contact.email]
    comments = Comment.objects.filter(ticket_id__in=list(docs)).order_by("created_at", "id")
    if not internal:
        comments = comments.filter(is_internal=False)
    for ticket_id, body, is_internal in comments.values_list("ticket_id", "body", "is_internal"):
        docs[ticket_id][Scope.INTERNAL if is_internal else Scope.PUBLIC].append(body)
    files = Attachment.objects.filter(ticket_id__in=list(docs))
    if not internal:
        files = files.exclude(comment__is_internal=True)
    for ticket_id, name, note in files.values_list("ticket_id", "filename", "comment__is_internal"):
        docs[ticket_id][Scope.INTERNAL if note else Scope.PUBLIC].append(name)
    return docs


def token_rows(docs: Documents) -> list[SearchToken]:
    return [
        SearchToken(token=value, ticket_id=ticket_id, scope=scope)
        for ticket_id, scopes in docs.items()
        for scope, texts in scopes.items()
        for value in tokens(all_terms(texts))
    ]


def _add(ticket_id: int, scope: int, texts: list[str]) -> None:
    rows = token_rows({ticket_id: {scope: texts}})
    SearchToken.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


def reindex_tickets(ticket_ids: list[int]) -> int:
    """Rebuild these tickets' tokens; returns the number of rows written."""
    SearchToken.objects.filter(ticket_id__in=ticket_ids).delete()
    rows = token_rows(documents(ticket_ids))
    SearchToken.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def index_ticket(ticket: Ticket) -> None:
    """Rebuild one ticket's tokens (after create, subject, description or requester change)."""
    reindex_tickets([ticket.pk])


def index_comment(comment: Comment) -> None:
    scope = Scope.INTERNAL if comment.is_internal else Scope.PUBLIC
    _add(comment.ticket_id, scope, [comment.body])


def index_attachment(attachment: Attachment) -> None:
    note = attachment.comment is not None and attachment.comment.is_internal
    _add(attachment.ticket_id, Scope.INTERNAL if note else Scope.PUBLIC, [attachment.filename])


def index_contact_tickets(contact: Contact) -> None:
    """Rebuild the tokens of every ticket of this requester (edited or erased)."""
    reindex_tickets(list(Ticket.objects.filter(contact=contact).values_list("pk", flat=True)))


def unindex_ticket(ticket: Ticket) -> None:
    SearchToken.objects.filter(ticket_id=ticket.pk).delete()
