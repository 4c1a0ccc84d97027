"""Small display helpers for the ticket pages."""

from __future__ import annotations

from typing import Any

from django import template

from tickets.labels import (
    MAIL_STATE_LABELS,
    PRIORITY_LABELS,
    STATUS_LABELS,
    VERB_LABELS,
    activity_value,
)
from tickets.models import user_display

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
