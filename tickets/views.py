"""Staff pages: dashboard, ticket list, create, detail and the detail page's actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from accounts.throttle import throttle
from audit.history import history_rows, ticket_log_entries
from tickets import access, services
from tickets.attachments import human_size
from tickets.forms import (
    SORTS,
    AssignForm,
    AttachmentForm,
    CommentForm,
    MoveForm,
    PriorityForm,
    StatusForm,
    TicketCreateForm,
    TicketFilterForm,
)
from tickets.models import ACTIVE_STATUSES, Activity, Attachment, Status, Ticket
from ticketsystem.roles import is_manager

DASHBOARD_LIST_SIZE = 10
DUE_SOON = timedelta(hours=1)
MODEL_HISTORY_ROWS = 200


def _list_queryset(user: Any) -> QuerySet[Ticket]:
    return (
        access.visible_tickets(user)
        .select_related("queue", "assignee")
        .defer("description", "uid", "queue__description", "assignee__password")
    )


def dashboard_data(user: Any) -> dict[str, Any]:
    """Everything the dashboard shows; also the resynchronisation answer for live pages."""
    now = timezone.now()
    tickets = access.visible_tickets(user)
    # COUNT(*) (not COUNT(id)) lets PostgreSQL answer from the (status, queue) index alone.
    by_status = dict(tickets.values_list("status").annotate(n=Count("*")).order_by())
    counts = {status: by_status.get(status, 0) for status in Status.values}
    active = tickets.filter(status__in=ACTIVE_STATUSES)
    totals = active.aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        due_soon=Count("pk", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
    )
    rows = _list_queryset(user).filter(status__in=ACTIVE_STATUSES)
    queue_ids = access.visible_queue_ids(user)
    activity = Activity.objects.select_related("actor", "ticket").only(
        "verb",
        "old_value",
        "new_value",
        "created_at",
        "ticket__subject",
        "ticket__id",
        "actor__username",
    )
    if queue_ids is not None:
        # Recorded in a visible queue, and the ticket is still there: the feed shows the
        # ticket's current subject, which is not the agent's to see once it moved away.
        activity = activity.filter(queue_id__in=queue_ids, ticket__queue_id__in=queue_ids)
    return {
        "counts": counts,
        "totals": totals,
        "mine": rows.filter(assignee=user).order_by("due_at", "id")[:DASHBOARD_LIST_SIZE],
        "unassigned": rows.filter(assignee__isnull=True).order_by("-updated_at", "-id")[
            :DASHBOARD_LIST_SIZE
        ],
        "overdue": rows.filter(due_at__lt=now).order_by("due_at", "id")[:DASHBOARD_LIST_SIZE],
        "due_soon": rows.filter(due_at__gte=now, due_at__lt=now + DUE_SOON).order_by(
            "due_at", "id"
        )[:DASHBOARD_LIST_SIZE],
        "activity": activity[:15],
        "now": now,
    }


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/dashboard.html", dashboard_data(request.user))


def _filtered(request: HttpRequest, form: TicketFilterForm) -> QuerySet[Ticket]:
    data = form.cleaned_data
    qs = access.visible_tickets(request.user)
    if q := data.get("q", "").strip():
        pk = Ticket.pk_from_reference(q.upper()) or (
            int(q) if q.isdigit() and len(q) < 12 else None
        )
        match = Q(subject__icontains=q)
        qs = qs.filter(match | Q(pk=pk) if pk else match)
    status = data.get("status")
    if status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if data.get("queue"):
        qs = qs.filter(queue=data["queue"])
    if data.get("priority"):
        qs = qs.filter(priority=data["priority"])
    assignee = data.get("assignee")
    if assignee == "me":
        qs = qs.filter(assignee=request.user)
    elif assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee_id=int(assignee))
    return qs.order_by(*SORTS[data.get("sort") or "updated"])


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
        form.add_error(None, "The page number must be a whole number.")
        return render(request, "tickets/list.html", {"form": form, "page": None}, status=400)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def ticket_page(request: HttpRequest, form: TicketFilterForm) -> Page:
    """The requested page of the filtered list (also the live list's resynchronisation).

    Pages through ids only (index-only scans, cheap even at deep OFFSETs), then loads the
    page's rows by primary key. Raises PageNotAnInteger, or Http404 past the last page.
    """
    ids = _filtered(request, form).values_list("id", flat=True)
    paginator = Paginator(ids, per_page=settings.TICKETS_PER_PAGE)
    raw_page = request.GET.get("page", "1")
    try:
        if len(raw_page) > 6:
            raise EmptyPage
        page = paginator.page(raw_page)
    except EmptyPage:
        raise Http404("No such page") from None
    page_ids = list(page.object_list)
    rows = _list_queryset(request.user).in_bulk(page_ids)
    page.object_list = [rows[pk] for pk in page_ids if pk in rows]
    return page


@staff_required
@throttle("post")
def ticket_create(request: HttpRequest) -> HttpResponse:
    form = TicketCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # the requester and the ticket, or neither
                contact = None
                if data["contact_email"]:
                    contact = services.contact_get_or_create(
                        actor=request.user,
                        email=data["contact_email"],
                        name=data["contact_name"],
                        phone=data["contact_phone"],
                    )
                ticket = services.ticket_create(
                    actor=request.user,
                    queue=data["queue"],
                    subject=data["subject"],
                    description=data["description"],
                    priority=data["priority"],
                    contact=contact,
                )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Ticket {ticket.reference} created.")
            return redirect(ticket)
    status = 400 if request.method == "POST" else 200
    return render(request, "tickets/create.html", {"form": form}, status=status)


def _add_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _detail_context(request: HttpRequest, ticket: Ticket, **forms: Form) -> dict[str, Any]:
    user = request.user
    defaults: dict[str, Form] = {
        "comment_form": CommentForm(),
        "assign_form": AssignForm(initial={"assignee": ticket.assignee_id}, queue=ticket.queue),
        "status_form": StatusForm(initial={"status": ticket.status}),
        "priority_form": PriorityForm(initial={"priority": ticket.priority}),
        "move_form": MoveForm(initial={"queue": ticket.queue_id}, user=user),
        "attachment_form": AttachmentForm(),
    }
    defaults.update(forms)
    files = list(ticket.attachments.select_related("uploaded_by").order_by("created_at", "id"))
    return {
        "ticket": ticket,
        "comments": ticket.comments.select_related("author").order_by("created_at", "id"),
        "history": ticket.activities.select_related("actor").order_by("created_at", "id"),
        "transitions": [(s, Status(s).label) for s in ticket.allowed_transitions()],
        "attachments": [a for a in files if a.comment_id is None],
        "comment_attachments": _by_comment(files),
        "attachment_max_size": human_size(settings.ATTACHMENT_MAX_BYTES),
        "model_history": _model_history(user, ticket),
        **defaults,
    }


def _by_comment(files: list[Attachment]) -> dict[int, list[Attachment]]:
    grouped: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.comment_id is not None:
            grouped.setdefault(attachment.comment_id, []).append(attachment)
    return grouped


def _model_history(user: Any, ticket: Ticket) -> list[Any] | None:
    """django-auditlog's field-level history, for managers only (agents see Activity)."""
    if not is_manager(user):
        return None
    return history_rows(list(ticket_log_entries(ticket)[:MODEL_HISTORY_ROWS]))


def _detail_queryset() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("queue", "assignee", "contact", "created_by")


@require_GET
@staff_required
def ticket_detail(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = access.get_ticket_or_404(request.user, ref, _detail_queryset())
    return render(request, "tickets/detail.html", _detail_context(request, ticket))


def _ticket_action(
    request: HttpRequest, ref: str, form_name: str, make_form: Any, apply: Any, success: Any
) -> HttpResponse:
    """Validate a detail-page form, apply it through a service, or re-render with errors.

    The ticket is looked up (and 404s) before any input is looked at.
    """
    ticket = access.get_ticket_or_404(request.user, ref, _detail_queryset())
    form = make_form(ticket)
    if form.is_valid():
        try:
            apply(ticket, form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            text = success(form.cleaned_data) if callable(success) else success
            messages.success(request, text)
            return redirect(ticket)
    ticket.refresh_from_db()
    context = _detail_context(request, ticket, **{form_name: form})
    return render(request, "tickets/detail.html", context, status=400)


@require_POST
@staff_required
@throttle("post")
def ticket_comment(request: HttpRequest, ref: str) -> HttpResponse:
    return _ticket_action(
        request,
        ref,
        "comment_form",
        lambda t: CommentForm(request.POST, request.FILES),
        lambda t, d: _comment_with_file(request.user, t, d),
        lambda d: "Internal note added." if d["is_internal"] else "Reply added.",
    )


@transaction.atomic
def _comment_with_file(actor: Any, ticket: Ticket, data: dict[str, Any]) -> None:
    """A comment and its file are added together or not at all."""
    comment = services.comment_add(
        actor=actor, ticket=ticket, body=data["body"], is_internal=data["is_internal"]
    )
    if data.get("file"):
        services.attachment_add(actor=actor, ticket=ticket, upload=data["file"], comment=comment)


@require_POST
@staff_required
@throttle("post")
def ticket_assign(request: HttpRequest, ref: str) -> HttpResponse:
    return _ticket_action(
        request,
        ref,
        "assign_form",
        lambda t: AssignForm(request.POST, queue=t.queue),
        lambda t, d: services.ticket_assign(actor=request.user, ticket=t, assignee=d["assignee"]),
        "Assignee updated.",
    )


@require_POST
@staff_required
@throttle("post")
def ticket_status(request: HttpRequest, ref: str) -> HttpResponse:
    return _ticket_action(
        request,
        ref,
        "status_form",
        lambda t: StatusForm(request.POST),
        lambda t, d: services.ticket_change_status(
            actor=request.user, ticket=t, status=d["status"]
        ),
        "Status updated.",
    )


@require_POST
@staff_required
@throttle("post")
def ticket_priority(request: HttpRequest, ref: str) -> HttpResponse:
    return _ticket_action(
        request,
        ref,
        "priority_form",
        lambda t: PriorityForm(request.POST),
        lambda t, d: services.ticket_change_priority(
            actor=request.user, ticket=t, priority=d["priority"]
        ),
        "Priority updated.",
    )


@require_POST
@staff_required
@throttle("post")
def ticket_move(request: HttpRequest, ref: str) -> HttpResponse:
    return _ticket_action(
        request,
        ref,
        "move_form",
        lambda t: MoveForm(request.POST, user=request.user),
        lambda t, d: services.ticket_change_queue(actor=request.user, ticket=t, queue=d["queue"]),
        "Ticket moved.",
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard")
