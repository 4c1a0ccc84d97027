"""A search as typed, parsed into required tokens, and matched in SQL.

Words are ANDed and match by their stem (text.py); ``word*`` is a prefix (3+ letters; the
index keeps prefixes up to MAX_PREFIX letters, longer ones are confirmed by decryption);
``"a phrase"`` requires its words, then snippets.py confirms the phrase by decrypting a
bounded set of candidates; an e-mail address or a ticket reference matches exactly. Nothing
is interpolated into SQL: each term becomes an integer token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket
from tickets.search.models import SearchToken
from tickets.search.text import (
    EMAIL_RE,
    MAX_PREFIX,
    MIN_PREFIX,
    REFERENCE_RE,
    email_form,
    indexable,
    stem,
    stem_term,
    words,
)
from tickets.search.tokens import internal_term, tokens

MAX_TERMS = 10
_PHRASE_RE = re.compile(r'"([^"]*)"')
NOTHING_TO_SEARCH = _(
    "Nothing to search for: use words of two or more letters (common words such as "
    '"the" or "und" are not searched).'
)


@dataclass
class Search:
    """A parsed query: the terms every match must hold, and what needs confirming."""

    terms: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)  # folded, for highlighting
    stems: set[str] = field(default_factory=set)  # their stems (a word's other forms)
    prefixes: set[str] = field(default_factory=set)
    phrases: list[list[str]] = field(default_factory=list)
    long_prefixes: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def tokens(self) -> list[int]:
        return sorted(tokens(self.terms))

    @property
    def needs_confirming(self) -> bool:
        return bool(self.phrases or self.long_prefixes)

    def _add(self, term: str) -> None:
        if term not in self.terms:
            self.terms.append(term)

    def _add_word(self, word: str) -> None:
        self._add(stem_term(word))
        self.words.add(word)
        self.stems.add(stem(word))


def _add_chunk(search: Search, chunk: str) -> None:
    if EMAIL_RE.fullmatch(chunk):
        search._add(f"e:{email_form(chunk)}")
        search.words.update(words(chunk))
        search.stems.update(stem(word) for word in words(chunk))
        return
    if REFERENCE_RE.fullmatch(chunk):
        search._add(f"r:{chunk.upper()}")
        return
    found = [w for w in words(chunk) if indexable(w)]
    if chunk.endswith("*") and found:
        last = found.pop()
        if len(last) < MIN_PREFIX:
            search.problem = str(_("Type at least %(n)d letters before *.") % {"n": MIN_PREFIX})
        search._add(f"p:{last[:MAX_PREFIX]}")
        search.prefixes.add(last)
        if len(last) > MAX_PREFIX:
            search.long_prefixes.append(last)
    for word in found:
        search._add_word(word)


def parse(text: str) -> Search:
    """Parse what the user typed; ``problem`` says in one line why nothing can be searched."""
    search = Search()
    text = text.replace("\x00", " ")
    for phrase in _PHRASE_RE.findall(text):
        sequence = list(words(phrase))
        for word in filter(indexable, sequence):
            search._add_word(word)
        if len(sequence) > 1:
            search.phrases.append(sequence)
    for chunk in _PHRASE_RE.sub(" ", text).replace('"', " ").split():
        _add_chunk(search, chunk)
    if not search.terms:
        search.problem = search.problem or str(NOTHING_TO_SEARCH)
    elif len(search.terms) > MAX_TERMS:
        search.problem = str(_("Search for at most %(n)d words at once.") % {"n": MAX_TERMS})
    return search


def match(
    search: Search, *, internal: bool, path: str = "search_tokens__", or_pk: int | None = None
) -> Q:
    """Tickets (through ``path`` to their SearchToken row) holding every term: a term held
    only by internal notes matches for those who may read them (``internal``). On
    PostgreSQL one GIN index scan: ``tokens @> ARRAY[...]``, or one ``tokens && ARRAY[term,
    internal term]`` per term. ``or_pk``: or the ticket with this id (a reference or number
    typed), through one subquery (an OR across the join would scan every row)."""
    if or_pk is not None:
        found = SearchToken.objects.filter(match(search, internal=internal, path=""))
        named = Ticket.objects.filter(pk=or_pk).order_by().values("pk")
        return Q(pk__in=found.values("ticket_id").union(named))
    if not internal:
        return Q(**{f"{path}tokens__has_all": search.tokens})
    found = Q()
    for term in search.terms:
        found &= Q(**{f"{path}tokens__has_any": sorted(tokens([term, internal_term(term)]))})
    return found


def typed_pk(text: str) -> int | None:
    """The ticket id a search names by its reference ("T-000123") or number, if any."""
    return Ticket.pk_from_reference(text.upper()) or (
        int(text) if text.isdigit() and len(text) < 12 else None
    )


def in_subject(search: Search, *, text: str, path: str = "search_tokens__") -> Case | Coalesce:
    """1 for a ticket whose subject holds one of the searched terms, else 0 (ranks first);
    read from the row the match already visits (a subquery per row when the search also
    names a ticket: see match())."""
    if typed_pk(text) is not None:
        # A scalar subquery, not EXISTS: PostgreSQL would turn that into a scan of every row.
        hit = SearchToken.objects.filter(pk=OuterRef("pk"), subject__has_any=search.tokens)
        one = hit.annotate(one=Value(1, output_field=IntegerField())).values("one")[:1]
        return Coalesce(Subquery(one), Value(0))
    return Case(
        When(Q(**{f"{path}subject__has_any": search.tokens}), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
