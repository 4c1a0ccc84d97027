"""A search as typed, parsed into required tokens, and matched in SQL.

Words are ANDed; ``word*`` is a prefix (3+ letters; the index keeps prefixes up to
MAX_PREFIX letters, longer ones are confirmed by decryption); ``"a phrase"`` requires its
words, then snippets.py confirms the phrase by decrypting a bounded set of candidates; an
e-mail address or a ticket reference matches exactly. Nothing is interpolated into SQL: each
term becomes an integer token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from tickets.search.models import Scope, SearchToken
from tickets.search.text import (
    EMAIL_RE,
    MAX_PREFIX,
    MIN_PREFIX,
    REFERENCE_RE,
    email_form,
    indexable,
    words,
)
from tickets.search.tokens import tokens

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


def _add_chunk(search: Search, chunk: str) -> None:
    if EMAIL_RE.fullmatch(chunk):
        search._add(f"e:{email_form(chunk)}")
        search.words.update(words(chunk))
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
        search._add(f"w:{word}")
        search.words.add(word)


def parse(text: str) -> Search:
    """Parse what the user typed; ``problem`` says in one line why nothing can be searched."""
    search = Search()
    text = text.replace("\x00", " ")
    for phrase in _PHRASE_RE.findall(text):
        sequence = list(words(phrase))
        for word in filter(indexable, sequence):
            search._add(f"w:{word}")
            search.words.add(word)
        if len(sequence) > 1:
            search.phrases.append(sequence)
    for chunk in _PHRASE_RE.sub(" ", text).replace('"', " ").split():
        _add_chunk(search, chunk)
    if not search.terms:
        search.problem = search.problem or str(NOTHING_TO_SEARCH)
    elif len(search.terms) > MAX_TERMS:
        search.problem = str(_("Search for at most %(n)d words at once.") % {"n": MAX_TERMS})
    return search


def scopes(*, internal: bool) -> list[int]:
    """The rows a user's search reads: PUBLIC, and INTERNAL (a superset) if they may read
    internal notes; a ticket matching in both appears twice in the subquery, harmlessly."""
    return [Scope.PUBLIC, Scope.INTERNAL] if internal else [Scope.PUBLIC]


def matching_ticket_ids(search: Search, *, internal: bool) -> QuerySet[SearchToken]:
    """A subquery of the ids of tickets holding every token in one row this user may read
    (on PostgreSQL ``tokens @> ARRAY[...]``, one GIN index scan)."""
    return SearchToken.objects.filter(
        scope__in=scopes(internal=internal), tokens__has_all=search.tokens
    ).values("ticket_id")


def in_subject(search: Search) -> Case:
    """1 for a ticket whose subject holds one of the searched terms, else 0 (ranks first)."""
    hits = SearchToken.objects.filter(
        ticket_id=OuterRef("pk"), scope=Scope.SUBJECT, tokens__has_any=search.tokens
    )
    return Case(
        When(Exists(hits), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
