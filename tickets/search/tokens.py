"""Keyed hashes of search terms: HMAC-SHA256 under SEARCH_INDEX_KEY, truncated to 4 bytes
and stored as a signed 32-bit integer. Without the key a token says nothing about its word.

Four bytes, not eight: half the index. Two different terms share a token with probability
2**-32 per pair, so a corpus of a million distinct terms gives a searched term a ~1 in 4 300
chance of sharing its token with some other term; that only adds candidates (a ticket
holding the other term), which phrase confirmation and the snippet treat like any match
without that word. A term met only in internal notes is hashed as "i" + term, so a search
by someone who may not read internal notes never meets it (query.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from tickets.search.text import word_terms
from ticketsystem.cipher import parse_blind_index_key

TOKEN_BYTES = 4
CACHE_SIZE = 500_000  # terms; a reindex hashes each distinct term of the corpus once
_cache: dict[str, int] = {}
_pairs: dict[str, tuple[tuple[int, int], ...]] = {}  # word -> its terms' (token, internal)


@lru_cache(maxsize=1)
def _key() -> bytes:
    from django.conf import settings

    return parse_blind_index_key(settings.SEARCH_INDEX_KEY, name="SEARCH_INDEX_KEY")


@receiver(setting_changed, dispatch_uid="tickets.search.tokens.reset_key")
def _reset_key(*, setting: str, **kwargs: Any) -> None:
    if setting == "SEARCH_INDEX_KEY":
        _key.cache_clear()
        _cache.clear()
        _pairs.clear()


def token(term: str, *, key: bytes | None = None) -> int:
    digest = hmac.digest(key or _key(), term.encode("utf-8"), "sha256")
    return int.from_bytes(digest[:TOKEN_BYTES], "big", signed=True)


def tokens(terms: Iterable[str], *, key: bytes | None = None) -> set[int]:
    """The tokens of these terms under ``key``, or under SEARCH_INDEX_KEY through a cache
    of term -> token (cleared when the setting changes, emptied when full)."""
    if key is not None:
        return {token(term, key=key) for term in terms}
    current, cache, found = _key(), _cache, set()
    for term in terms:
        value = cache.get(term)
        if value is None:
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            value = cache[term] = token(term, key=current)
        found.add(value)
    return found


def internal_term(term: str) -> str:
    """The term as indexed when only internal notes (or their files) hold it."""
    return f"i{term}"


def term_pairs(term: str) -> tuple[int, int]:
    """A term's token and its internal-only token."""
    found = tokens([term]), tokens([internal_term(term)])
    return next(iter(found[0])), next(iter(found[1]))


def word_pairs(word: str) -> tuple[tuple[int, int], ...]:
    """(token, internal-only token) of each term of a folded word (cached: a reindex meets
    each word of the corpus many times)."""
    found = _pairs.get(word)
    if found is None:
        if len(_pairs) >= CACHE_SIZE:
            _pairs.clear()
        found = _pairs[word] = tuple(term_pairs(term) for term in word_terms(word))
    return found
