"""Staff pages: dashboard, ticket list, create, detail and the detail page's actions. Each
view parses its input and calls one service (writes) or selector (reads)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import PageNotAnInteger
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import manager_required, staff_required
from accounts.throttle import throttle
from audit.history import history_rows
from tickets import access, agent_selectors, keyset, selectors, services
from tickets.attachments import human_size
from tickets.forms import (
    AssignForm,
    AttachmentForm,
    CCForm,
    CommentForm,
    MoveForm,
    PriorityForm,
    RequesterForm,
    StatusForm,
    SubjectForm,
    TicketCreateForm,
    TicketFilterForm,
)
from tickets.labels import STATUS_LABELS
from tickets.list_forms import BulkForm, SavedViewForm, clean_query
from tickets.listing import PAGE_PARAMETERS
from tickets.models import Comment, Status, Ticket
from tickets.services.comments import REPLY_STATUSES
from ticketsystem.roles import is_manager

MODEL_HISTORY_ROWS = 200


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/dashboard.html", selectors.dashboard_data(request.user))


@require_GET
@staff_required
@throttle("search", methods=("GET",), when=lambda request: bool(request.GET.get("q", "").strip()))
def ticket_list(request: HttpRequest) -> HttpResponse:
    form = TicketFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "tickets/list.html", {"form": form, "page": None}, status=400)
    try:
        page = ticket_page(request, form)
    except PageNotAnInteger:
        form.add_error(None, _("The page number must be a whole number."))
        return render(request, "tickets/list.html", {"form": form, "page": None}, status=400)
    except keyset.BadCursor:
        form.add_error(None, _("This page link is not valid (any more). Start from page 1."))
        return render(request, "tickets/list.html", {"form": form, "page": None}, status=400)
    query = request.GET.copy()
    for key in PAGE_PARAMETERS:
        query.pop(key, None)
    return render(
        request,
        "tickets/list.html",
        {"form": form, "page": page, "query": query.urlencode(), **list_actions(request, form)},
    )


def list_actions(request: HttpRequest, form: TicketFilterForm) -> dict[str, Any]:
    """The list's bulk and save-view forms, and the saved view it shows (if any)."""
    user = request.user
    query = clean_query(request.GET.urlencode())
    view_id = request.GET.get("view", "")
    current_view = (
        selectors.saved_views(user).filter(pk=int(view_id)).first()
        if view_id.isdigit() and len(view_id) < 10
        else None
    )
    return {
        "current_sort": form.cleaned_data["sort"],
        "current_view": current_view,
        "bulk_form": BulkForm(initial={"query": query}, user=user),
        "view_form": SavedViewForm(
            initial={"query": query, "name": current_view.name if current_view else ""},
            user=user,
            can_share=is_manager(user),
        ),
    }


def ticket_page(request: HttpRequest, form: TicketFilterForm) -> keyset.ListPage:
    """The requested page of the filtered list (the HTML list and its live resynchronisation
    share it). Raises PageNotAnInteger, keyset.BadCursor, or Http404 past the last page."""
    data, get = form.cleaned_data, request.GET
    return selectors.ticket_page(
        request.user,
        data,
        data["sort"],
        page=get.get("page", "1"),
        after=get.get("after", ""),
        before=get.get("before", ""),
    )


@staff_required
@throttle("post")
def ticket_create(request: HttpRequest) -> HttpResponse:
    form = TicketCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create_for_requester(
                actor=request.user,
                queue=data["queue"],
                subject=data["subject"],
                description=data["description"],
                priority=data["priority"],
                contact_email=data["contact_email"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Ticket %(ref)s created.") % {"ref": ticket.reference})
            return redirect(ticket)
    status = 400 if request.method == "POST" else 200
    return render(request, "tickets/create.html", {"form": form}, status=status)


def add_errors(form: Form, exc: ValidationError) -> None:
    """A service's ValidationError shown next to the field it names (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def detail_context(request: HttpRequest, ticket: Ticket, **forms: Form) -> dict[str, Any]:
    """The detail page's context; ``forms`` replace the blank ones (bound, with errors)."""
    user = request.user
    is_open = ticket.status != Status.CLOSED  # a closed ticket's page shows no forms
    cc = agent_selectors.ticket_cc(ticket)
    defaults: dict[str, Form] = {
        "comment_form": CommentForm(),
        "assign_form": choices_once(
            AssignForm(initial={"assignee": ticket.assignee_id}, queue=ticket.queue),
            "assignee",
            read=is_open,
        ),
        "status_form": StatusForm(initial={"status": ticket.status}),
        "priority_form": PriorityForm(initial={"priority": ticket.priority}),
        "move_form": choices_once(
            MoveForm(initial={"queue": ticket.queue_id}, user=user), "queue", read=is_open
        ),
        "attachment_form": AttachmentForm(),
        "subject_form": SubjectForm(initial={"subject": ticket.subject}),
        "requester_form": RequesterForm(initial=_requester_initial(ticket)),
        "cc_form": CCForm(initial={"cc": ", ".join(str(c.contact.email) for c in cc)}),
    }
    defaults.update(forms)
    return {
        "ticket": ticket,
        **selectors.ticket_conversation(ticket),
        "transitions": [(s, STATUS_LABELS[s]) for s in ticket.allowed_transitions()],
        "attachment_max_size": human_size(settings.ATTACHMENT_MAX_BYTES),
        # The field-level change log (managers only) is a page of its own, fetched on demand.
        "show_changes": is_manager(user),
        "cc": cc,
        "can_close": Status.CLOSED in ticket.allowed_transitions(),
        "following": agent_selectors.is_following(user, ticket),
        "canned": agent_selectors.canned_rendered(user, ticket) if is_open else [],
        "reply_statuses": [(s, STATUS_LABELS[s]) for s in REPLY_STATUSES],
        **defaults,
    }


def choices_once(form: Form, name: str, *, read: bool) -> Form:
    """Read a blank form's model choices once (``read``: the page shows the form): rendering
    a required select would run its query twice (once to see whether the first choice is
    empty, once for the options)."""
    if read:
        field = form.fields[name]
        field.choices = list(iter(field.choices))  # iter(): no COUNT query for a length hint
    return form


def _requester_initial(ticket: Ticket) -> dict[str, str]:
    contact = ticket.contact
    if contact is None or contact.erased_at:
        return {}
    return {"email": str(contact.email or ""), "name": str(contact.name or "")}


def detail_with_errors(request: HttpRequest, ticket: Ticket, **forms: Form) -> HttpResponse:
    """The detail page again, with the failed form's errors, as a 400."""
    ticket.refresh_from_db()
    context = detail_context(request, ticket, **forms)
    return render(request, "tickets/detail.html", context, status=400)


@require_GET
@manager_required
def ticket_changes(request: HttpRequest, ref: str) -> HttpResponse:
    """A ticket's field-level change log (django-auditlog), newest first: a page of its own,
    or (``?fragment=1``) the list alone, which the ticket page fetches when it is opened."""
    ticket = access.get_ticket_or_404(request.user, ref)
    entries = selectors.ticket_log_entries(ticket)[:MODEL_HISTORY_ROWS]
    context = {"ticket": ticket, "rows": history_rows(list(entries))}
    if request.GET.get("fragment") == "1":
        return render(request, "audit/partials/history_list.html", context)
    return render(request, "tickets/changes.html", context)


@require_GET
@staff_required
def ticket_detail(request: HttpRequest, ref: str) -> HttpResponse:
    queryset = agent_selectors.detail_page_queryset(request.user)
    ticket = access.get_ticket_or_404(request.user, ref, queryset)
    return render(request, "tickets/detail.html", detail_context(request, ticket))


def applied(form: Form, change: Any) -> bool:
    """Run a service call for a valid form; a business-rule failure lands on the form."""
    if not form.is_valid():
        return False
    try:
        change(form.cleaned_data)
    except ValidationError as exc:
        add_errors(form, exc)
        return False
    return True


@require_POST
@staff_required
@throttle("post")
def ticket_comment(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = CommentForm(request.POST, request.FILES)

    added: list[Comment] = []

    def add(data: dict[str, Any]) -> None:
        files = [data["file"]] if data.get("file") else []
        added.append(
            services.reply_and_set_status(
                actor=request.user,
                ticket=ticket,
                body=data["body"],
                is_internal=data["is_internal"],
                files=files,
                status=form.new_status(),
                priority=data["priority"],
            )
        )

    if not applied(form, add):
        return detail_with_errors(request, ticket, comment_form=form)
    internal = form.cleaned_data["is_internal"]
    messages.success(request, _("Internal note added.") if internal else _("Reply added."))
    return redirect(f"{ticket.get_absolute_url()}#c-{added[0].pk}")


@require_POST
@staff_required
@throttle("post")
def ticket_assign(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = AssignForm(request.POST, queue=ticket.queue)

    def assign(data: dict[str, Any]) -> None:
        services.ticket_assign(actor=request.user, ticket=ticket, assignee=data["assignee"])

    if not applied(form, assign):
        return detail_with_errors(request, ticket, assign_form=form)
    messages.success(request, _("Assignee updated."))
    return redirect(ticket)


@require_POST
@staff_required
@throttle("post")
def ticket_status(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = StatusForm(request.POST)

    def change(data: dict[str, Any]) -> None:
        services.ticket_change_status(actor=request.user, ticket=ticket, status=data["status"])

    if not applied(form, change):
        return detail_with_errors(request, ticket, status_form=form)
    messages.success(request, _("Status updated."))
    return redirect(ticket)


@require_POST
@staff_required
@throttle("post")
def ticket_priority(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = PriorityForm(request.POST)

    def change(data: dict[str, Any]) -> None:
        services.ticket_change_priority(
            actor=request.user, ticket=ticket, priority=data["priority"]
        )

    if not applied(form, change):
        return detail_with_errors(request, ticket, priority_form=form)
    messages.success(request, _("Priority updated."))
    return redirect(ticket)


@require_POST
@staff_required
@throttle("post")
def ticket_move(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, selectors.detail_queryset())
    form = MoveForm(request.POST, user=request.user)

    def move(data: dict[str, Any]) -> None:
        services.ticket_change_queue(actor=request.user, ticket=ticket, queue=data["queue"])

    if not applied(form, move):
        return detail_with_errors(request, ticket, move_form=form)
    messages.success(request, _("Ticket moved."))
    return redirect(ticket)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard")
