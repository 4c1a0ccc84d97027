"""Ticket page actions beyond the conversation (subject, requester, CC, follow) and the
agent's own pages: Following, notifications, canned responses. One service call per write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from accounts.throttle import throttle
from tickets import access, agent_selectors, selectors, services
from tickets.agent_models import CannedResponse
from tickets.forms import CCForm, RequesterForm, SubjectForm
from tickets.labels import PRIORITY_LABELS
from tickets.views import applied, detail_with_errors


@require_POST
@staff_required
@throttle("post")
def ticket_subject(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = SubjectForm(request.POST)

    def change(data: dict[str, Any]) -> None:
        services.ticket_change_subject(actor=request.user, ticket=ticket, subject=data["subject"])

    if not applied(form, change):
        return detail_with_errors(request, ticket, subject_form=form)
    messages.success(request, _("Subject updated."))
    return redirect(ticket)


@require_POST
@staff_required
@throttle("post")
def ticket_requester(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = RequesterForm(request.POST)

    def change(data: dict[str, Any]) -> None:
        services.ticket_set_requester(
            actor=request.user, ticket=ticket, email=data["email"], name=data["name"]
        )

    if not applied(form, change):
        return detail_with_errors(request, ticket, requester_form=form)
    messages.success(request, _("Requester updated."))
    return redirect(ticket)


@require_POST
@staff_required
@throttle("post")
def ticket_cc(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = CCForm(request.POST)

    def change(data: dict[str, Any]) -> None:
        services.ticket_set_cc(actor=request.user, ticket=ticket, emails=data["cc"])

    if not applied(form, change):
        return detail_with_errors(request, ticket, cc_form=form)
    messages.success(request, _("CC updated."))
    return redirect(ticket)


@require_POST
@staff_required
@throttle("post")
def ticket_follow(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    follow = request.POST.get("follow") == "1"
    services.ticket_follow(actor=request.user, ticket=ticket, follow=follow)
    messages.success(request, _("You follow this ticket.") if follow else _("Unfollowed."))
    return redirect(ticket)


@require_GET
@staff_required
def following(request: HttpRequest) -> HttpResponse:
    rows = agent_selectors.followed_tickets(request.user)[:200]
    return render(request, "tickets/following.html", {"tickets": rows})


@staff_required
@throttle("post")
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notifications_mark_read(actor=request.user)
        return redirect("notifications")
    rows = agent_selectors.notifications(request.user)
    return render(request, "tickets/notifications.html", {"notifications": rows})


class CannedForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["name", "queue", "body", "set_status", "set_priority"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        labels = {"queue": gettext_lazy("Only in queue")}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = access.visible_queues(user)
        self.fields["queue"].empty_label = _("Every queue")
        self.fields["set_priority"].choices = [("", "---------"), *PRIORITY_LABELS.items()]


def _own_canned(request: HttpRequest, pk: int | None) -> CannedResponse:
    if pk is None:
        return CannedResponse()
    found = agent_selectors.own_canned(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404(_("No such canned response."))
    return found


@staff_required
@throttle("post")
def canned_list(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The agent's own canned responses (add, edit) and the shared ones they may use."""
    response = _own_canned(request, pk)
    form = CannedForm(request.POST or None, instance=response, user=request.user)
    if request.method == "POST":
        form.instance.owner = request.user  # this page keeps personal ones
        if form.is_valid():
            try:
                services.canned_response_save(actor=request.user, response=form.instance)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Canned response saved."))
                return redirect("canned_list")
    context = {
        "form": form,
        "editing": response if pk else None,
        "own": agent_selectors.own_canned(request.user),
        "shared": agent_selectors.shared_canned(request.user),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "tickets/canned.html", context, status=status)


@require_POST
@staff_required
@throttle("post")
def canned_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.canned_response_delete(actor=request.user, response=_own_canned(request, pk))
    messages.success(request, _("Canned response deleted."))
    return redirect("canned_list")
