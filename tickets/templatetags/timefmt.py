"""One way to say when: "3 days ago", "in 2 hours", "overdue 11 months" (the largest unit
only, as static/js/live.js's Live.duration says it), in a ``<time>`` whose title is the
absolute local time."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.timezone import get_current_timezone, now
from django.utils.translation import get_language, gettext_noop, npgettext_lazy
from django.utils.translation import gettext as _

register = template.Library()

# A span as it reads after "ago", "in", "overdue", "due in" (German needs the dative there:
# "vor 3 Tagen", "in 2 Stunden"), so not Django's own "%(num)d days".
SPAN_STRINGS = {
    "year": npgettext_lazy("time span", "%(num)d year", "%(num)d years", "num"),
    "month": npgettext_lazy("time span", "%(num)d month", "%(num)d months", "num"),
    "week": npgettext_lazy("time span", "%(num)d week", "%(num)d weeks", "num"),
    "day": npgettext_lazy("time span", "%(num)d day", "%(num)d days", "num"),
    "hour": npgettext_lazy("time span", "%(num)d hour", "%(num)d hours", "num"),
    "minute": npgettext_lazy("time span", "%(num)d minute", "%(num)d minutes", "num"),
}


@lru_cache(maxsize=4096)
def _span_text(language: str | None, name: str, num: int) -> str:
    """One span's words, looked up once per language and number (a list page says 100 of
    them; through the lazy plural strings each cost several catalogue lookups)."""
    return SPAN_STRINGS[name] % {"num": num}


class _CachedSpan:
    """A ``time_strings`` entry for timesince that answers from ``_span_text``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __mod__(self, params: dict[str, int]) -> str:
        return _span_text(get_language(), self.name, params["num"])


_CACHED_SPANS = {name: _CachedSpan(name) for name in SPAN_STRINGS}


@lru_cache(maxsize=64)
def _phrase(language: str | None, msgid: str) -> str:
    """A phrase around a span in one language (the catalogue read once, not per row)."""
    return _(msgid)


def span(value: datetime, at: datetime) -> str:
    """The distance between two moments in its largest unit ("11 months", "2 hours")."""
    earlier, later = sorted((value, at))
    return timesince(earlier, later, depth=1, time_strings=_CACHED_SPANS)


def _say(msgid: str, value: datetime, at: datetime) -> str:
    return _phrase(get_language(), msgid) % {"span": span(value, at)}


def relative(value: datetime, at: datetime | None = None) -> str:
    at = at or now()
    if abs((at - value).total_seconds()) < 60:
        return _phrase(get_language(), gettext_noop("just now"))
    ago, later = gettext_noop("%(span)s ago"), gettext_noop("in %(span)s")
    return _say(ago if value < at else later, value, at)


def due_text(due: datetime, at: datetime | None = None) -> str:
    at = at or now()
    overdue, due_in = gettext_noop("overdue %(span)s"), gettext_noop("due in %(span)s")
    return _say(overdue if due < at else due_in, due, at)


@lru_cache(maxsize=8192)
def _absolute(value: datetime, language: str | None, zone: tzinfo) -> str:
    """A moment as the reader's locale writes it in their zone (a pure function of the three:
    the same rows are drawn again and again, and the format's month and a.m./p.m. names
    cost catalogue lookups)."""
    return formats.date_format(value.astimezone(zone), "DATETIME_FORMAT")


def time_tag(value: datetime, text: str) -> SafeString:
    absolute = _absolute(value, get_language(), get_current_timezone())
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), absolute, text
    )


@register.filter
def reltime(value: datetime | None) -> SafeString | str:
    """``{{ when|reltime }}``: "3 days ago" with the absolute local time on hover."""
    return time_tag(value, relative(value)) if value else "—"


@register.filter
def reltext(value: datetime | None) -> str:
    """``{{ when|reltext }}``: "3 days ago" as plain text (for a title or a ``<time>``)."""
    return relative(value) if value else "—"


@register.filter
def duetime(value: datetime | None) -> SafeString | str:
    """``{{ ticket.due_at|duetime }}``: "overdue 2 days" / "due in 20 minutes"."""
    return time_tag(value, due_text(value)) if value else "—"
