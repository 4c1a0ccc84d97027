"""Uploading attachments to a ticket and downloading them (always as a file, audited)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from accounts.throttle import throttle
from tickets import access, attachments, selectors, services
from tickets.forms import AttachmentForm
from tickets.models import Attachment
from tickets.views import add_errors, detail_with_errors


@require_POST
@staff_required
@throttle("post")
def attachment_upload(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(
                actor=request.user, ticket=ticket, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("File attached."))
            return redirect(f"{ticket.get_absolute_url()}#attachments")
    return detail_with_errors(request, ticket, attachment_form=form)


@require_GET
@staff_required
def attachment_download(request: HttpRequest, ref: str, uid: UUID) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref)
    try:
        attachment = Attachment.objects.get(ticket=ticket, uid=uid)
    except Attachment.DoesNotExist:
        raise Http404(_("No such attachment")) from None
    try:
        content = attachments.attachment_read(
            actor=request.user, attachment=attachment, request=request
        )
    except attachments.AttachmentUnavailable:
        context = {"ticket": ticket, "attachment": attachment}
        return render(request, "tickets/attachment_unavailable.html", context, status=409)
    filename = attachment.filename
    if getattr(filename, "undecryptable", False):
        filename = attachments.clean_filename(
            f"attachment-{attachment.pk}", attachment.content_type
        )
    response = HttpResponse(content, content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    response["Content-Length"] = str(len(content))
    response["X-Content-Type-Options"] = "nosniff"
    # Even if something rendered it, it would run nothing and reach nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response
