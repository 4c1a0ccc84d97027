"""Keyset paging for the ticket list: "Next" and "Previous" carry the sort key and id of the
page's last (or first) row in a signed cursor, and the next page is the rows after that key,
not after an OFFSET. A deep page costs what page 1 costs, for every sort the list offers
(tickets/listing.py), NULLs last in either direction.

A cursor is signed (django.core.signing, salted): one that was tampered with, is malformed,
or belongs to another sort is refused (BadCursor; the views answer 400)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import F, Q, QuerySet
from django.utils.dateparse import parse_datetime

from tickets.listing import SortKey

SALT = "tickets.list.cursor"
MAX_TOKEN = 4_000  # characters: about 100, up to ~1 600 for a 200-character non-ASCII subject
MAX_PAGE_NUMBER = 10**6


class BadCursor(ValueError):
    """A cursor that was tampered with, is malformed or belongs to another sort."""


@dataclass(frozen=True)
class Cursor:
    """A position in one sort: rows strictly after (or before) ``key``; ``number`` is the
    page number of the page it opens (shown only: the key decides which rows)."""

    sort: str
    key: tuple[Any, ...]
    before: bool
    number: int

    def token(self) -> str:
        values = [_pack(value) for value in self.key]
        return signing.dumps([self.sort, values, int(self.before), self.number], salt=SALT)


def _pack(value: Any) -> list[Any]:
    if value is None:
        return ["n"]
    if isinstance(value, datetime):
        return ["d", value.isoformat()]
    if isinstance(value, bool):
        return ["i", int(value)]
    if isinstance(value, int):
        return ["i", value]
    return ["s", str(value)]


def _unpack(packed: Any) -> Any:
    if packed == ["n"]:
        return None
    if not (isinstance(packed, list) and len(packed) == 2):
        raise BadCursor("malformed key")
    kind, value = packed
    if kind == "i" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "s" and isinstance(value, str) and len(value) <= 300:
        return value
    if kind == "d" and isinstance(value, str):
        parsed = parse_datetime(value) if len(value) <= 40 else None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise BadCursor("malformed key")


def read(token: str, *, sort: str, before: bool, keys: int) -> Cursor:
    """The cursor in ``token`` for this sort and direction, with ``keys`` key values."""
    if not token or len(token) > MAX_TOKEN:
        raise BadCursor("malformed cursor")
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise BadCursor("bad signature") from None
    if not (isinstance(data, list) and len(data) == 4):
        raise BadCursor("malformed cursor")
    cursor_sort, values, direction, number = data
    if cursor_sort != sort or direction != int(before):
        raise BadCursor("another sort or direction")
    if not (isinstance(values, list) and len(values) == keys):
        raise BadCursor("malformed key")
    if not (isinstance(number, int) and 1 <= number <= MAX_PAGE_NUMBER):
        raise BadCursor("malformed page number")
    return Cursor(sort, tuple(_unpack(v) for v in values), before, number)


def _names(keys: Sequence[SortKey]) -> list[str]:
    return [f"keyset_{i}" for i in range(len(keys))]


def _beyond(name: str, key: SortKey, value: Any, before: bool) -> Q | None:
    """Rows past ``value`` in this one term (None: nothing is)."""
    if value is None:  # NULLs are last: before a NULL are all values, after it nothing
        return Q(**{f"{name}__isnull": False}) if before else None
    higher = key.descending == before
    past = Q(**{f"{name}__{'gt' if higher else 'lt'}": value})
    return past if before or not key.nullable else past | Q(**{f"{name}__isnull": True})


def _condition(keys: Sequence[SortKey], cursor: Cursor) -> Q:
    """Rows strictly after (or before) the cursor's key in the sort's order."""
    names = _names(keys)
    either = Q(pk__in=[])
    same = Q()
    for name, key, value in zip(names, keys, cursor.key, strict=True):
        beyond = _beyond(name, key, value, cursor.before)
        if beyond is not None:
            either |= same & beyond
        same &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    first, value = keys[0], cursor.key[0]
    if value is not None and not first.nullable:
        # The same range once more as a plain bound on the first term: an index on it starts
        # its scan there instead of filtering every row before it.
        higher = first.descending == cursor.before
        either &= Q(**{f"{names[0]}__{'gte' if higher else 'lte'}": value})
    return either


def rows(
    queryset: QuerySet[Any],
    keys: Sequence[SortKey],
    cursor: Cursor | None,
    limit: int,
    offset: int = 0,
) -> list[tuple[Any, ...]]:
    """Up to ``limit`` rows as (id, key...) in the sort's order, after (or before) the cursor
    (or ``offset`` rows from the start). Before a cursor, the rows are read backwards and
    returned in the sort's order."""
    names = _names(keys)
    keyed = queryset.annotate(
        **{name: key.expression for name, key in zip(names, keys, strict=True)}
    )
    backwards = cursor is not None and cursor.before
    if cursor is not None:
        keyed = keyed.filter(_condition(keys, cursor))
    # Read backwards, the NULLs that come last come first.
    order = [key.order(F(name), backwards=backwards) for name, key in zip(names, keys, strict=True)]
    found = list(keyed.order_by(*order).values_list("id", *names)[offset : offset + limit])
    return found[::-1] if backwards else found


def key_of(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The sort key of a row from rows() (everything but the leading id)."""
    return tuple(row[1:])


@dataclass
class ListPage:
    """One page of the list: its rows, where it is, and the query parameter of the pages
    before and after it (a cursor, or a page number where there is no sort key)."""

    object_list: list[Any]
    number: int
    count: int  # exact, unless capped: then a floor (more rows than were counted)
    capped: bool
    per_page: int
    next_param: str = ""
    previous_param: str = ""

    @property
    def paginator(self) -> ListPage:
        """The page itself: templates and the live list read ``page.paginator.count``."""
        return self

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_next(self) -> bool:
        return bool(self.next_param)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_param)

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1
