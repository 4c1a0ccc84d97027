"""Small display helpers for the ticket pages."""

from __future__ import annotations

from typing import Any

from django import template

from tickets.models import user_display

register = template.Library()


@register.filter
def display_name(user: Any) -> str:
    """A staff member's full name, else their username ("" for nobody)."""
    return user_display(user)
