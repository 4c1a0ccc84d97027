"""Keeping the token index in step: each service calls one of these inside its own
transaction, so the index is never behind the tickets it covers. A new comment or file
adds its tokens to the ticket's row; other changes rebuild the ticket's row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Q

from tickets.agent_models import TicketCC
from tickets.models import Attachment, Comment, Contact, Ticket, TicketBody
from tickets.search.models import GIN_INDEX, Scope, SearchToken
from tickets.search.text import all_terms, words_and_extras
from tickets.search.tokens import internal_term, term_pairs, tokens, word_pairs
from ticketsystem.crypto import is_undecryptable

Documents = dict[int, dict[int, list[str]]]  # ticket id -> scope -> texts


class _Row:
    """What an encrypted field needs to open a value read with values_list(): its row's uid
    (the associated data), without building a model instance per row."""

    __slots__ = ("uid",)

    def __init__(self, uid: Any) -> None:
        self.uid = uid


def _opener(model: type, name: str) -> Any:
    field = model._meta.get_field(name)
    return lambda uid, stored: "" if stored is None else field.open(_Row(uid), stored)


def _contact_texts() -> Any:
    """Decrypts a contact's name and address once per contact (many tickets share one)."""
    name, email = _opener(Contact, "name"), _opener(Contact, "email")
    seen: dict[Any, list[str]] = {}

    def texts(uid: Any, sealed_name: Any, sealed_email: Any) -> list[str]:
        if uid not in seen:
            seen[uid] = [name(uid, sealed_name), email(uid, sealed_email)]
        return seen[uid]

    return texts


def _among(ids: list[int] | range, field: str = "ticket_id") -> Q:
    """``field`` in these ticket ids: a range is two comparisons, not a list of parameters
    (reindex reads thousands of tickets per batch)."""
    if isinstance(ids, range):
        return Q(**{f"{field}__gte": ids.start, f"{field}__lt": ids.stop})
    return Q(**{f"{field}__in": ids})


def documents(ticket_ids: Iterable[int] | range, *, internal: bool = True) -> Documents:
    """The plaintext of these tickets by scope, decrypted: subject, description, requester
    and CC contacts, replies, internal notes (if ``internal``) and file names. Four queries
    for any number of tickets; values decrypted straight from the rows (no model
    instances)."""
    ids = ticket_ids if isinstance(ticket_ids, range) else list(ticket_ids)
    docs: Documents = defaultdict(lambda: defaultdict(list))
    contact = _contact_texts()
    description = _opener(TicketBody, "description")
    tickets = Ticket.objects.filter(_among(ids, "pk"), purged_at__isnull=True).values_list(
        "pk",
        "subject",
        "body__uid",
        "body__description",
        "contact__uid",
        "contact__name",
        "contact__email",
        "contact__erased_at",
    )
    for pk, subject, body_uid, text, uid, name, email, erased_at in tickets:
        # (anonymised tickets are left out: nothing to find them by)
        scopes = docs[pk]
        scopes[Scope.SUBJECT].append(subject)
        scopes[Scope.PUBLIC].append(description(body_uid, text) if body_uid else "")
        if uid is not None and erased_at is None:
            scopes[Scope.PUBLIC] += contact(uid, name, email)
    found = ids if isinstance(ids, range) else list(docs)
    copied = TicketCC.objects.filter(_among(found), contact__erased_at__isnull=True)
    for ticket_id, uid, name, email in copied.values_list(
        "ticket_id", "contact__uid", "contact__name", "contact__email"
    ):
        if ticket_id in docs:
            docs[ticket_id][Scope.PUBLIC] += contact(uid, name, email)
    comments = Comment.objects.filter(_among(found)).order_by("created_at", "id")
    if not internal:
        comments = comments.filter(is_internal=False)
    body = _opener(Comment, "body")
    for ticket_id, uid, text, note in comments.values_list(
        "ticket_id", "uid", "body", "is_internal"
    ):
        if ticket_id in docs:
            docs[ticket_id][Scope.INTERNAL if note else Scope.PUBLIC].append(body(uid, text))
    files = Attachment.objects.filter(_among(found))
    if not internal:
        files = files.exclude(comment__is_internal=True)
    filename = _opener(Attachment, "filename")
    for ticket_id, uid, name, note in files.values_list(
        "ticket_id", "uid", "filename", "comment__is_internal"
    ):
        if ticket_id in docs:
            docs[ticket_id][Scope.INTERNAL if note else Scope.PUBLIC].append(filename(uid, name))
    return docs


def plain_texts(texts: list[str]) -> list[str]:
    """Leave out values that failed to decrypt (their ciphertext is no text to index)."""
    return [text for text in texts if text and not is_undecryptable(text)]


def _terms(texts: list[str]) -> set[str]:
    return all_terms(plain_texts(texts))


def row_tokens(scopes: dict[int, list[str]]) -> tuple[list[int], list[int]]:
    """One ticket's row: every token anyone who sees it may match (subject, description,
    contacts, replies, their files; terms only internal notes hold as "i" + term), and the
    subject's tokens alone (for ranking). Works on distinct words (their tokens cached)."""
    subject_words, subject_extras = words_and_extras(plain_texts(scopes.get(Scope.SUBJECT, [])))
    public_words, extras = words_and_extras(plain_texts(scopes.get(Scope.PUBLIC, [])))
    public_words |= subject_words
    extras |= subject_extras
    subject = {t for w in subject_words for t, _ in word_pairs(w)} | tokens(subject_extras)
    public = {t for w in public_words for t, _ in word_pairs(w)} | tokens(extras)
    internal_words, internal_extras = words_and_extras(plain_texts(scopes.get(Scope.INTERNAL, [])))
    pairs = [p for w in internal_words - public_words for p in word_pairs(w)]
    pairs += [term_pairs(term) for term in internal_extras - extras]
    found = public | {internal for token, internal in pairs if token not in public}
    return sorted(found), sorted(subject)


def _array(values: list[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _write(rows: list[tuple[int, list[int], list[int]]]) -> None:
    """Insert (ticket id, tokens, subject tokens) rows: COPY on PostgreSQL (rows formatted
    here: psycopg's array adapter costs more than the rest of a reindex), bulk_create
    elsewhere."""
    if connection.vendor != "postgresql":
        SearchToken.objects.bulk_create(
            [SearchToken(ticket_id=t, tokens=v, subject=s) for t, v, s in rows], batch_size=500
        )
        return
    data = "".join(f"{pk}\t{_array(found)}\t{_array(subject)}\n" for pk, found, subject in rows)
    sql = f"COPY {SearchToken._meta.db_table} (ticket_id, tokens, subject) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(data)


def clear_for_rebuild() -> None:
    """Before a full rebuild: empty the table (TRUNCATE leaves no dead rows behind) and drop
    its GIN index, since filling the table and building the index once is several times
    faster than keeping the index up to date row by row (searches scan the table and find
    only what is rebuilt so far, until create_gin_index())."""
    if connection.vendor != "postgresql":
        SearchToken.objects.all().delete()
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see create_gin_index()
        cursor.execute(f"TRUNCATE {SearchToken._meta.db_table}")
        cursor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


def create_gin_index() -> None:
    """The GIN index as migration 0019 makes it (see there for its settings)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # Deferred foreign-key checks still queued in this transaction (a caller's outer
            # transaction) would refuse the CREATE INDEX: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON {SearchToken._meta.db_table}"
                " USING gin (tokens) WITH (fastupdate = on, gin_pending_list_limit = 256)"
            )


def reindex_tickets(ticket_ids: list[int] | range) -> int:
    """Rebuild these tickets' rows (a range: every ticket whose id is in it); returns the
    number of tokens written."""
    SearchToken.objects.filter(_among(ticket_ids)).delete()
    rows = [(pk, *row_tokens(scopes)) for pk, scopes in documents(ticket_ids).items()]
    _write(rows)
    return sum(len(row[1]) for row in rows)


def _add(ticket_id: int, texts: list[str], *, internal: bool) -> None:
    """Add the terms of a new comment or file to the ticket's row without re-reading the
    ticket (the service holds the ticket's row lock, so two additions do not race)."""
    terms = _terms(texts)
    if not terms:
        return
    if not internal and connection.vendor == "postgresql" and _add_public(ticket_id, terms):
        return
    have = SearchToken.objects.filter(pk=ticket_id).values_list("tokens", flat=True).first()
    if have is None:  # never indexed (bulk-seeded, or before a reindex)
        reindex_tickets([ticket_id])
        return
    row = set(have)
    if internal:  # a term anyone may match already needs no internal token
        new = row | tokens(internal_term(t) for t in terms if not tokens([t]) <= row)
    else:
        new = (row | tokens(terms)) - tokens(internal_term(term) for term in terms)
    if new != row:
        SearchToken.objects.filter(pk=ticket_id).update(tokens=sorted(new))


def _add_public(ticket_id: int, terms: set[str]) -> bool:
    """A reply's terms merged into the row in one statement (no read first): its tokens
    added, the internal-only tokens of the same terms dropped. False if there is no row."""
    sql = (
        "UPDATE tickets_searchtoken SET tokens = ARRAY("
        "SELECT DISTINCT t FROM unnest(tokens || %s::int4[]) AS t"
        " WHERE t <> ALL(%s::int4[]) ORDER BY t) WHERE ticket_id = %s"
    )
    dropped = sorted(tokens(internal_term(term) for term in terms))
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(tokens(terms)), dropped, ticket_id])
        return cursor.rowcount > 0


def index_ticket(ticket: Ticket) -> None:
    """Rebuild one ticket's row (after a subject, description, requester or CC change), in
    place: an UPDATE that leaves the tokens as they were costs the GIN index nothing."""
    scopes = documents([ticket.pk]).get(ticket.pk)
    if scopes is None:  # anonymised
        unindex_ticket(ticket)
        return
    found, subject = row_tokens(scopes)
    if not SearchToken.objects.filter(pk=ticket.pk).update(tokens=found, subject=subject):
        _write([(ticket.pk, found, subject)])


def index_new_ticket(ticket: Ticket, *, description: str) -> None:
    """Write a ticket's row when it is created, from what the service holds in memory (no
    read back: a new ticket has no comments, files, CC contacts or row yet)."""
    scopes: dict[int, list[str]] = {Scope.SUBJECT: [ticket.subject], Scope.PUBLIC: [description]}
    contact = ticket.contact
    if contact is not None and contact.erased_at is None:
        scopes[Scope.PUBLIC] += [contact.name, contact.email]
    _write([(ticket.pk, *row_tokens(scopes))])


def index_comment(comment: Comment) -> None:
    _add(comment.ticket_id, [comment.body], internal=comment.is_internal)


def index_attachment(attachment: Attachment) -> None:
    note = attachment.comment is not None and attachment.comment.is_internal
    _add(attachment.ticket_id, [attachment.filename], internal=note)


def index_contact_tickets(contact: Contact) -> None:
    """Rebuild the rows of every ticket this person is the requester of or copied on (after
    an edit or an erasure)."""
    requester = Ticket.objects.filter(contact=contact).values_list("pk", flat=True)
    copied = TicketCC.objects.filter(contact=contact).values_list("ticket_id", flat=True)
    reindex_tickets(sorted({*requester, *copied}))


def unindex_ticket(ticket: Ticket) -> None:
    SearchToken.objects.filter(ticket_id=ticket.pk).delete()
