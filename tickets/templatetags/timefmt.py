"""One way to say when: "3 days ago", "in 2 hours", "overdue 11 months" (the largest unit
only, as static/js/live.js's Live.duration says it), in a ``<time>`` whose title is the
absolute local time."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.timezone import localtime, now
from django.utils.translation import gettext as _
from django.utils.translation import npgettext_lazy

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


def span(value: datetime, at: datetime) -> str:
    """The distance between two moments in its largest unit ("11 months", "2 hours")."""
    earlier, later = sorted((value, at))
    return timesince(earlier, later, depth=1, time_strings=SPAN_STRINGS)


def relative(value: datetime, at: datetime | None = None) -> str:
    at = at or now()
    if abs((at - value).total_seconds()) < 60:
        return _("just now")
    if value < at:
        return _("%(span)s ago") % {"span": span(value, at)}
    return _("in %(span)s") % {"span": span(value, at)}


def due_text(due: datetime, at: datetime | None = None) -> str:
    at = at or now()
    if due < at:
        return _("overdue %(span)s") % {"span": span(due, at)}
    return _("due in %(span)s") % {"span": span(due, at)}


def time_tag(value: datetime, text: str) -> SafeString:
    absolute = formats.date_format(localtime(value), "DATETIME_FORMAT")
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
