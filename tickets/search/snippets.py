"""What needs the plaintext: confirming phrases and long prefixes, and the highlighted
snippet under a result. Both decrypt a bounded number of tickets, for one user, in memory."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tickets.search.index import documents, plain_texts
from tickets.search.models import Scope
from tickets.search.query import Search
from tickets.search.text import WORD_RE, fold, stem, words

BEFORE = 60  # characters of context before the first match
AFTER = 120


def _holds(text_words: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(text_words[i : i + size] == phrase for i in range(len(text_words) - size + 1))


def _confirmed(texts: list[str], search: Search) -> bool:
    folded = [list(words(text)) for text in texts]
    for phrase in search.phrases:
        if not any(_holds(text_words, phrase) for text_words in folded):
            return False
    every = {w for text_words in folded for w in text_words}
    return all(any(w.startswith(p) for w in every) for p in search.long_prefixes)


def confirmed_ids(ids: list[int], search: Search, *, internal: bool) -> list[int]:
    """The ids (in their order) whose visible text really holds each phrase and long prefix."""
    docs = documents(ids, internal=internal)
    return [pk for pk in ids if _confirmed(_all_texts(docs.get(pk, {})), search)]


def _all_texts(scopes: dict[int, list[str]]) -> list[str]:
    return [text for scope in sorted(scopes) for text in plain_texts(scopes[scope])]


def _matches(word: str, search: Search) -> bool:
    """Whether a folded word of the text is one searched for: itself, another form of it
    (same stem) or one that starts with a searched prefix."""
    if word in search.words or any(word.startswith(p) for p in search.prefixes):
        return True
    return bool(search.stems) and stem(word) in search.stems


def snippet_parts(texts: Iterable[str], search: Search) -> list[tuple[str, bool]]:
    """Context around the first matching word as (text, is a match) pieces, plain text:
    the page escapes them and the live list draws them as text nodes."""
    for text in texts:
        first = next((m for m in WORD_RE.finditer(text) if _matches(fold(m[0]), search)), None)
        if first is None:
            continue
        start = max(0, first.start() - BEFORE)
        end = min(len(text), first.end() + AFTER)
        window = text[start:end].replace("\n", " ")
        parts, done = [("… " if start else "", False)], 0
        for match in WORD_RE.finditer(window):
            if _matches(fold(match[0]), search):
                parts += [(window[done : match.start()], False), (match[0], True)]
                done = match.end()
        parts.append((window[done:] + (" …" if end < len(text) else ""), False))
        return [(piece, marked) for piece, marked in parts if piece]
    return []


def snippet_html(parts: list[tuple[str, bool]]) -> SafeString:
    """The pieces escaped, matches in <mark>."""
    html = "".join(f"<mark>{escape(p)}</mark>" if marked else escape(p) for p, marked in parts)
    return mark_safe(html)  # noqa: S308 - every piece is escaped above


def snippet(texts: Iterable[str], search: Search) -> SafeString | str:
    """Escaped context around the first matching word, matching words in <mark>."""
    return snippet_html(snippet_parts(texts, search))


def attach_snippets(tickets: list, search: Search, *, internal: bool) -> None:
    """Set ``search_parts`` and ``search_snippet`` (their HTML) on each ticket of a page
    (one decryption pass for the page)."""
    docs = documents([t.pk for t in tickets], internal=internal)
    for ticket in tickets:
        scopes = docs.get(ticket.pk, {})
        scopes.pop(Scope.SUBJECT, None)  # the row shows the subject already
        ticket.search_parts = snippet_parts(_all_texts(scopes), search)
        ticket.search_snippet = snippet_html(ticket.search_parts)
