"""What the live pages' scripts read from the page (static/js/live.js)."""

from __future__ import annotations

from django import template

from tickets.live import kinds

register = template.Library()


@register.simple_tag
def event_kinds() -> dict[str, str]:
    """The ticket event kinds by name, for ``json_script`` (read as ``Live.KINDS``)."""
    return kinds.event_kinds()
