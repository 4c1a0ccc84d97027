"""Keeping the token index in step: each service calls one of these inside its own
transaction, so the index is never behind the tickets it covers. A new comment or file
appends its tokens to the ticket's rows; other changes rebuild the ticket's rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection

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
    rows = (
        Ticket.objects.filter(pk__in=ids)
        .select_related("body")
        .only("uid", "subject", "contact_id", "purged_at", "body__uid", "body__description")
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


def _tokens_of(texts: list[str]) -> set[int]:
    return tokens(all_terms(plain_texts(texts)))


def scope_tokens(scopes: dict[int, list[str]]) -> dict[int, set[int]]:
    """One ticket's rows: SUBJECT (if any), PUBLIC (always) and INTERNAL (if it has internal
    texts), PUBLIC and INTERNAL cumulative (see Scope)."""
    subject = _tokens_of(scopes.get(Scope.SUBJECT, []))
    public = subject | _tokens_of(scopes.get(Scope.PUBLIC, []))
    rows = {Scope.SUBJECT: subject, Scope.PUBLIC: public} if subject else {Scope.PUBLIC: public}
    if internal := _tokens_of(scopes.get(Scope.INTERNAL, [])):
        rows[Scope.INTERNAL] = public | internal
    return rows


def _write(rows: list[tuple[int, int, list[int]]]) -> None:
    """Insert (ticket id, scope, tokens) rows: COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        SearchToken.objects.bulk_create(
            [SearchToken(ticket_id=t, scope=s, tokens=v) for t, s, v in rows], batch_size=500
        )
        return
    sql = f"COPY {SearchToken._meta.db_table} (ticket_id, scope, tokens) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.set_types(["int8", "int2", "int8[]"])
        for row in rows:
            copy.write_row(row)


def reindex_tickets(ticket_ids: list[int]) -> int:
    """Rebuild these tickets' rows; returns the number of tokens written."""
    SearchToken.objects.filter(ticket_id__in=ticket_ids).delete()
    rows = [
        (ticket_id, scope, sorted(values))
        for ticket_id, scopes in documents(ticket_ids).items()
        for scope, values in scope_tokens(scopes).items()
    ]
    _write(rows)
    return sum(len(values) for _, _, values in rows)


def _append(ticket_id: int, texts: list[str], *, internal: bool) -> None:
    """Add the terms of a new comment or file to the ticket's rows without re-reading the
    ticket (the service holds the ticket's row lock, so appends do not race)."""
    new = _tokens_of(texts)
    if not new:
        return
    rows = {
        row.scope: set(row.tokens)
        for row in SearchToken.objects.filter(
            ticket_id=ticket_id, scope__in=[Scope.PUBLIC, Scope.INTERNAL]
        )
    }
    if Scope.PUBLIC not in rows:  # never indexed (bulk-seeded, or before a reindex)
        reindex_tickets([ticket_id])
        return
    if internal and Scope.INTERNAL not in rows:
        _write([(ticket_id, Scope.INTERNAL, sorted(rows[Scope.PUBLIC] | new))])
        return
    for scope in [Scope.INTERNAL] if internal else list(rows):
        if not new <= rows[scope]:
            SearchToken.objects.filter(ticket_id=ticket_id, scope=scope).update(
                tokens=sorted(rows[scope] | new)
            )


def index_ticket(ticket: Ticket) -> None:
    """Rebuild one ticket's rows (after create, subject, description or requester change)."""
    reindex_tickets([ticket.pk])


def index_new_ticket(ticket: Ticket, *, description: str) -> None:
    """Write a ticket's rows when it is created, from what the service holds in memory (no
    read back: a new ticket has no comments, files or rows yet)."""
    scopes: dict[int, list[str]] = {Scope.SUBJECT: [ticket.subject], Scope.PUBLIC: [description]}
    contact = ticket.contact
    if contact is not None and contact.erased_at is None:
        scopes[Scope.PUBLIC] += [contact.name, contact.email]
    rows = scope_tokens(scopes)
    _write([(ticket.pk, scope, sorted(values)) for scope, values in rows.items()])


def index_comment(comment: Comment) -> None:
    _append(comment.ticket_id, [comment.body], internal=comment.is_internal)


def index_attachment(attachment: Attachment) -> None:
    note = attachment.comment is not None and attachment.comment.is_internal
    _append(attachment.ticket_id, [attachment.filename], internal=note)


def index_contact_tickets(contact: Contact) -> None:
    """Rebuild the rows of every ticket of this requester (edited or erased)."""
    reindex_tickets(list(Ticket.objects.filter(contact=contact).values_list("pk", flat=True)))


def unindex_ticket(ticket: Ticket) -> None:
    SearchToken.objects.filter(ticket_id=ticket.pk).delete()
