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

register = template.Library()


def span(value: datetime, at: datetime) -> str:
    """The distance between two moments in its largest unit ("11 months", "2 hours")."""
    earlier, later = sorted((value, at))
    return timesince(earlier, later, depth=1)


def relative(value: datetime, at: datetime | None = None) -> str:
    at = at or now()
    if abs((at - value).total_seconds()) < 60:
        return "just now"
    return f"{span(value, at)} ago" if value < at else f"in {span(value, at)}"


def due_text(due: datetime, at: datetime | None = None) -> str:
    at = at or now()
    return f"overdue {span(due, at)}" if due < at else f"due in {span(due, at)}"


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
def duetime(value: datetime | None) -> SafeString | str:
    """``{{ ticket.due_at|duetime }}``: "overdue 2 days" / "due in 20 minutes"."""
    return time_tag(value, due_text(value)) if value else "—"
