"""The ticket list's actions: bulk changes on the selected rows, and saved views. Each
parses its input and calls one service; the list itself is views.ticket_list."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import staff_required
from accounts.throttle import throttle
from tickets import services
from tickets.list_forms import BulkForm, SavedViewForm, clean_query
from tickets.organising_models import SavedView
from ticketsystem.roles import is_manager


def _back_to_list(raw_query: str) -> HttpResponse:
    query = clean_query(raw_query)
    return redirect(reverse("ticket_list") + (f"?{query}" if query else ""))


@require_POST
@staff_required
@throttle("post")
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST, user=request.user)
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors))
        return _back_to_list(request.POST.get("query", ""))
    outcome = services.tickets_bulk_change(
        actor=request.user,
        references=form.references,
        action=form.cleaned_data["action"],
        value=form.value,
    )
    level = messages.WARNING if outcome.refused else messages.SUCCESS
    messages.add_message(request, level, outcome.summary())
    return _back_to_list(form.cleaned_data["query"])


@require_POST
@staff_required
@throttle("post")
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST, user=request.user, can_share=is_manager(request.user))
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, _("The view was not saved:") + " " + " ".join(errors))
        return _back_to_list(request.POST.get("query", ""))
    try:
        view = services.saved_view_save(
            actor=request.user,
            name=form.cleaned_data["name"],
            query=clean_query(form.cleaned_data["query"]),
            queue=form.cleaned_data.get("queue"),
        )
    except ValidationError as exc:
        messages.error(request, _("The view was not saved:") + " " + " ".join(exc.messages))
        return _back_to_list(form.cleaned_data["query"])
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(view.get_absolute_url())


@require_POST
@staff_required
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    services.saved_view_delete(actor=request.user, view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("ticket_list")
