"""Saved views: a user's named list filters. Only managers share one with a queue."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.models import Queue
from tickets.organising_models import SavedView
from tickets.services.base import require_queue, validate
from ticketsystem.roles import is_manager

MAX_VIEWS = 30


@transaction.atomic
def saved_view_save(*, actor: Any, name: str, query: str, queue: Queue | None = None) -> SavedView:
    """Save (or overwrite, by name) one of the actor's views; ``queue`` shares it."""
    if queue is not None:
        if not is_manager(actor):
            raise ValidationError({"queue": _("Only managers can share a view with a queue.")})
        require_queue(actor, queue)
    view = SavedView.objects.filter(owner=actor, name=name.strip()).first()
    if view is None:
        if SavedView.objects.filter(owner=actor).count() >= MAX_VIEWS:
            raise ValidationError(
                {"name": _("You can keep at most %(n)d views.") % {"n": MAX_VIEWS}}
            )
        view = SavedView(owner=actor, name=name.strip())
    view.query = query
    view.queue = queue
    validate(view)
    view.save()
    return view


@transaction.atomic
def saved_view_delete(*, actor: Any, view: SavedView) -> None:
    if view.owner_id != actor.pk:
        raise PermissionDenied(_("Only its owner can delete a view."))
    view.delete()
