"""Keeping the token index in step: each service calls one of these inside its own
transaction, so the index is never behind the tickets it covers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tickets.models import Attachment, Comment, Contact, Ticket
from tickets.search.models import Scope, SearchToken
from tickets.search.text import all_terms
from tickets.search.tokens import tokens
from ticketsystem.crypto import is_undecryptable

Documents = dict[int, dict[int, list[str]]]  # ticket id -> scope -> texts


def documents(ticket_ids: Iterable[int], *, internal: bool = True) -> Documents:
    """The plaintext of these tickets by scope, decrypted: subject, description, requester,
    replies, internal notes (if ``internal``) and file names. Four queries for any number."""
    ids = list(ticket_ids)
    docs: Documents = defaultdict(lambda: defaultdict(list))
    # Model instances, not values(): encrypted fields decrypt on the instance (bound to its row).
    rows = Ticket.objects.filter(pk__in=ids).only(
        "uid", "subject", "description", "contact_id", "purged_at"
    )
    contact_of: dict[int, list[int]] = defaultdict(list)
    for ticket in rows:
        if ticket.purged_at is not None:
            continue  # anonymised: nothing left to find it by
        docs[ticket.pk][Scope.SUBJECT].append(ticket.subject)
        docs[ticket.pk][Scope.PUBLIC].append(ticket.description)
        if ticket.contact_id:
            contact_of[ticket.contact_id].append(ticket.pk)
    for contact in Contact.objects.filter(pk__in=contact_of, erased_at__isnull=True).only(
        "uid", "name", "email"
    ):
        for pk in contact_of[contact.pk]:
            docs[pk][Scope.PUBLIC] += [contact.name, contact.email]
    comments = Comment.objects.filter(ticket_id__in=list(docs)).order_by("created_at", "id")
    if not internal:
        comments = comments.filter(is_internal=False)
    for comment in comments.only("uid", "ticket_id", "body", "is_internal"):
        scope = Scope.INTERNAL if comment.is_internal else Scope.PUBLIC
        docs[comment.ticket_id][scope].append(comment.body)
    files = Attachment.objects.filter(ticket_id__in=list(docs)).select_related("comment")
    if not internal:
        files = files.exclude(comment__is_internal=True)
    for file in files.only("uid", "ticket_id", "filename", "comment__is_internal"):
        note = file.comment is not None and file.comment.is_internal
        docs[file.ticket_id][Scope.INTERNAL if note else Scope.PUBLIC].append(file.filename)
    return docs


def plain_texts(texts: list[str]) -> list[str]:
    """Leave out values that failed to decrypt (their ciphertext is no text to index)."""
    return [text for text in texts if text and not is_undecryptable(text)]


def token_rows(docs: Documents) -> list[SearchToken]:
    return [
        SearchToken(token=value, ticket_id=ticket_id, scope=scope)
        for ticket_id, scopes in docs.items()
        for scope, texts in scopes.items()
        for value in tokens(all_terms(plain_texts(texts)))
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
