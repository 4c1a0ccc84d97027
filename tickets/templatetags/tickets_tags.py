"""Small display helpers for the ticket pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime

from tickets.labels import (
    MAIL_STATE_LABELS,
    PRIORITY_LABELS,
    STATUS_LABELS,
    VERB_LABELS,
    activity_value,
)
from tickets.models import user_display
from tickets.templatetags.timefmt import relative

register = template.Library()


@register.filter
def display_name(user: Any) -> str:
    """A staff member's full name, else their username ("" for nobody)."""
    return user_display(user)


@register.filter
def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


@register.filter
def priority_label(value: int) -> str:
    return str(PRIORITY_LABELS.get(value, value))


@register.filter
def verb_label(code: str) -> str:
    return str(VERB_LABELS.get(code, code))


@register.filter
def mail_state_label(code: str) -> str:
    return str(MAIL_STATE_LABELS.get(code, code))


@register.filter
def activity_old(activity: Any) -> str:
    """A history line's old value, a status or priority in the reader's language."""
    return activity_value(activity.verb, activity.old_value)


@register.filter
def activity_new(activity: Any) -> str:
    return activity_value(activity.verb, activity.new_value)


@register.simple_tag
def detail_time(at: datetime, absolute: bool = False) -> SafeString:
    """``{% detail_time moment %}``: a moment on the ticket pages in the user's time zone,
    relative ("3 days ago") with the absolute time on hover, or (absolute=True) the other
    way round. A tag, not an include: the ticket page shows dozens of them."""
    local = template_localtime(at)  # what the date filter is given
    exact = f"{formats.date_format(local, 'DATETIME_FORMAT')} {formats.date_format(local, 'T')}"
    ago = relative(at)
    shown, title = (exact, ago) if absolute else (ago, exact)
    return format_html('<time datetime="{}" title="{}">{}</time>', at.isoformat(), title, shown)
