"""Normalising and splitting text into search terms (no keys here: tokens.py hashes them).

Text is NFKC-normalised and case-folded (ß -> ss), accents are stripped (ü -> u) and the
German transcriptions ae/oe/ue fold to a/o/u, so "Müller", "Mueller" and "muller" are one
word. A word is indexed under its stem (the English, then the German Snowball stemmer, so
"printers", "printer" and "Drucker"/"Druckers" each meet their other forms) and under its
first 3, 4 and 5 letters (prefix search). Index and query pass through the same functions,
so a fold or stem that merges two unrelated words (rare) only widens a search, never hides
a match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import Stemmer

MIN_WORD = 2
MAX_WORD = 40
MIN_PREFIX = 3
MAX_PREFIX = 5  # prefixes of 3, 4 and 5 characters: at most 3 prefix terms per word
PREFIX_LENGTHS = range(MIN_PREFIX, MAX_PREFIX + 1)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
REFERENCE_RE = re.compile(r"\bT-\d{1,12}\b", re.IGNORECASE)
WORD_RE = re.compile(r"[^\W_]+")
_DIGRAPHS = re.compile(r"([aou])e")

# Words too common to be worth a token (English and German); a query of only these is refused.
STOP_WORDS = frozenset(
    """a an and are as at be by for from has have in is it of on or that the this to was were
    will with der die das und ist nicht ein eine einen dem den des zu im mit auf fur von bei
    sie er es wir ich""".split()  # noqa: SIM905
)


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """One word in canonical form: NFKC, case-folded, accents and umlaut spellings folded."""
    word = unicodedata.normalize("NFKC", word).casefold()
    word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return _DIGRAPHS.sub(r"\1", word)


def words(text: str) -> Iterator[str]:
    """The folded words of a text, in order (stop words and one-letter words included)."""
    for match in WORD_RE.finditer(unicodedata.normalize("NFKC", text)):
        yield fold(match[0])


_ENGLISH = Stemmer.Stemmer("english")
_GERMAN = Stemmer.Stemmer("german")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A folded word's stem: English, then German Snowball (the language of a ticket is not
    known; one stem per word keeps a search's words ANDed and the index small)."""
    return _GERMAN.stemWord(_ENGLISH.stemWord(word))


def stem_term(word: str) -> str:
    return f"s:{stem(word)}"


def indexable(word: str) -> bool:
    return MIN_WORD <= len(word) <= MAX_WORD and word not in STOP_WORDS


def terms(text: str) -> set[str]:
    """Every term a text is indexed under: word stems, bounded prefixes, e-mail addresses
    and ticket references (prefixed with their kind, so a stem never equals a prefix)."""
    return all_terms([text])


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, ...]:
    """A folded word's terms: its stem and its prefixes of MIN_PREFIX..MAX_PREFIX letters."""
    if not indexable(word):
        return ()
    return (stem_term(word), *(f"p:{word[:n]}" for n in PREFIX_LENGTHS if n <= len(word)))


def email_form(address: str) -> str:
    return unicodedata.normalize("NFKC", address.strip()).casefold()


def words_and_extras(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """The distinct folded words of several texts, and their e-mail and reference terms."""
    extras: set[str] = set()
    raw: set[str] = set()
    for text in texts:
        if not text:
            continue
        if not text.isascii():  # NFKC leaves ASCII as it is
            text = unicodedata.normalize("NFKC", text)
        raw.update(WORD_RE.findall(text))
        if "@" in text:
            extras.update(f"e:{email_form(m)}" for m in EMAIL_RE.findall(text))
        if "-" in text:
            extras.update(f"r:{m.upper()}" for m in REFERENCE_RE.findall(text))
    return {fold(w) for w in raw}, extras


def all_terms(texts: Iterable[str]) -> set[str]:
    """The terms of several texts at once (each distinct word folded and expanded once)."""
    found_words, found = words_and_extras(texts)
    for word in found_words:
        found.update(word_terms(word))
    return found
