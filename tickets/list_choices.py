"""The ticket list's select choices, read once per request: the filter bar, the bulk bar and
the save-view form each offer the visible queues, and two of them the people and the tags.
As model choice fields each would query again while rendering; here they are read once
(kept on the request's user object, as access.visible_queue_ids does) and the fields get
them as plain choices. Validation still goes through each field's queryset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from tickets import access
from tickets.organising_models import Tag

Choices = list[tuple[Any, str]]


def _memo(user: Any, name: str, compute: Callable[[], Choices]) -> Choices:
    cache = getattr(user, "_ticketsystem_list_choices", None)
    if cache is None:
        cache = {}
        user._ticketsystem_list_choices = cache
    if name not in cache:
        cache[name] = compute()
    return cache[name]


def queues(user: Any) -> Choices:
    """(id, name) of the queues the user may see, by name."""
    return _memo(
        user, "queues", lambda: list(access.visible_queues(user).values_list("pk", "name"))
    )


def people(user: Any) -> Choices:
    """(id, display name) of the people whose tickets the user can list."""
    return _memo(user, "people", lambda: access.assignee_filter_choices(user))


def tags(user: Any) -> Choices:
    """(slug, name) of every tag, by name."""
    return _memo(user, "tags", lambda: list(Tag.objects.values_list("slug", "name")))


def offer(field: forms.Field, choices: Choices) -> None:
    """Show ``choices`` (after the field's empty label, if any) instead of querying again."""
    empty = getattr(field, "empty_label", None)
    field.choices = [("", empty), *choices] if empty is not None else choices  # type: ignore[attr-defined]
