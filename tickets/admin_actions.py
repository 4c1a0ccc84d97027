"""Admin site actions for GDPR requests."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.personal_data import person_export_payload
from ticketsystem.roles import is_manager

MAX_EXPORT = 20


@admin.action(description=gettext_lazy("Export personal data (JSON, audited)"))
def export_personal_data(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    """Download everything held about the selected contacts, decrypted, as one JSON file."""
    if not is_manager(request.user):
        modeladmin.message_user(
            request, _("Only managers can export personal data."), messages.ERROR
        )
        return None
    contacts = list(queryset.order_by("pk")[: MAX_EXPORT + 1])
    if len(contacts) > MAX_EXPORT:
        modeladmin.message_user(
            request,
            _("Select at most %(n)d contacts per export.") % {"n": MAX_EXPORT},
            messages.ERROR,
        )
        return None
    payload = person_export_payload(actor=request.user, contacts=contacts, request=request)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = HttpResponse(payload, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{stamp}.json"'
    response["Cache-Control"] = "private, no-store"
    return response
