"""Admin site for managers. Ticket saves go through tickets/services/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tickets import access, services
from tickets.admin_actions import export_personal_data
from tickets.agent_models import CannedResponse
from tickets.labels import STATUS_LABELS
from tickets.mail.admin import QueueMailboxInline
from tickets.models import (
    MAX_TEXT,
    TRANSITIONS,
    Activity,
    Comment,
    Contact,
    Queue,
    Status,
    Ticket,
    validate_printable,
)
from tickets.organising_models import SavedView, Tag


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count"]
    # Explicit: the member count's GROUP BY drops Meta.ordering, and the ticket form's queue
    # autocomplete pages through this list.
    ordering = ["name"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
    inlines = [QueueMailboxInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "email_address", "members"]}),
        (
            "SLA: first response (minutes)",
            {
                "fields": [
                    (
                        "sla_response_low",
                        "sla_response_normal",
                        "sla_response_high",
                        "sla_response_urgent",
                    )
                ]
            },
        ),
        (
            "SLA: resolution (minutes)",
            {
                "fields": [
                    (
                        "sla_resolution_low",
                        "sla_resolution_normal",
                        "sla_resolution_high",
                        "sla_resolution_urgent",
                    )
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Queue]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_members=Count("members"))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj: Queue) -> int:
        return obj._members


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at", "erased_at"]
    list_filter = ["erased_at"]
    search_fields = ["email_index"]
    search_help_text = "Exact email address (contacts are encrypted; only exact matches work)."
    readonly_fields = ["created_at", "erased_at"]
    fields = ["name", "email", "phone", "created_at", "erased_at"]
    actions = [export_personal_data]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Contact], search_term: str
    ) -> tuple[QuerySet[Contact], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(email_index=Contact.email_lookup(search_term)), False

    def save_model(
        self, request: HttpRequest, obj: Contact, form: forms.ModelForm, change: bool
    ) -> None:
        services.contact_save(actor=request.user, contact=obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # erase (anonymise) instead: manage.py eraseperson


class TicketAdminForm(forms.ModelForm):
    # Kept in TicketBody; saved by the services (ticket_update -> ticket_change_description).
    description = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea,
        validators=[MaxLengthValidator(MAX_TEXT), validate_printable],
    )

    class Meta:
        model = Ticket
        fields = ["queue", "subject", "description", "contact", "priority", "status", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("description", str(self.instance.description))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        original = self.instance
        status = data.get("status")
        if (
            original.pk
            and status
            and status != original.status
            and status not in TRANSITIONS[original.status]
        ):
            self.add_error(
                "status",
                _("A %(old)s ticket cannot become %(new)s.")
                % {
                    "old": str(STATUS_LABELS[original.status]).lower(),
                    "new": str(STATUS_LABELS.get(status, status)).lower(),
                },
            )
        if not original.pk and status and status != "new":
            self.add_error("status", _("New tickets start as new."))
        # The services refuse these too, but only after the admin has committed to saving: it
        # would then announce (and log) a change that never happened.
        if original.pk and original.status == Status.CLOSED:
            if data.get("queue") and data["queue"].pk != original.queue_id:
                self.add_error("queue", _("A closed ticket cannot be moved."))
            if "assignee" in data and getattr(data["assignee"], "pk", None) != original.assignee_id:
                self.add_error("assignee", _("A closed ticket cannot be reassigned."))
        queue, assignee = data.get("queue"), data.get("assignee")
        if queue and assignee and not access.is_assignable(assignee, queue):
            self.add_error(
                "assignee",
                _("%(who)s cannot take tickets of %(queue)s.") % {"who": assignee, "queue": queue},
            )
        return data


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = [
        "reference",
        "subject",
        "queue",
        "status",
        "priority",
        "assignee",
        "due_at",
        "updated_at",
    ]
    list_filter = ["status", "priority", "queue"]
    list_select_related = ["queue", "assignee"]
    search_fields = ["subject"]
    autocomplete_fields = ["queue"]
    raw_id_fields = ["assignee", "contact"]
    readonly_fields = [
        "created_by",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "due_at",
    ]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return access.restrict(super().get_queryset(request), request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        pk = Ticket.pk_from_reference(search_term.strip().upper())
        if pk is not None:
            return queryset.filter(pk=pk), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(
        self, request: HttpRequest, obj: Ticket, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        try:
            if not change:
                created = services.ticket_create(
                    actor=request.user,
                    queue=data["queue"],
                    subject=data["subject"],
                    description=data.get("description") or "",
                    priority=data["priority"],
                    contact=data.get("contact"),
                    assignee=data.get("assignee"),
                )
                obj.pk = created.pk
                obj.refresh_from_db()
                return
            changes = {name: data[name] for name in form.changed_data}
            services.ticket_update(actor=request.user, ticket=obj, **changes)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets are closed, not deleted; personal data is erased (GDPR)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    """Comments are append-only: added in the staff UI, never edited or deleted."""

    list_display = ["__str__", "author", "is_internal", "created_at"]
    list_filter = ["is_internal"]
    list_select_related = ["author", "ticket"]
    raw_id_fields = ["ticket"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return access.restrict_ticket_rows(super().get_queryset(request), request.user)


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_display", "verb", "ticket", "old_value", "new_value"]
    list_filter = ["verb", "queue"]
    list_select_related = ["actor", "ticket"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Activity]:
        return access.restrict_activity(super().get_queryset(request), request.user)


import tickets.mail.outbound_admin  # noqa: E402,F401  (mail out's admin pages)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """The tag vocabulary: managers name tags here, agents attach them to tickets."""

    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug"]  # which tickets carry a tag changes through the services only


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "queue", "created_at"]
    list_select_related = ["owner", "queue"]
    readonly_fields = ["owner", "name", "query", "queue", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # saved from the ticket list, where the filters are


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    """Shared canned responses (no owner: for everyone, or one queue); agents keep their own
    on their canned-responses page."""

    list_display = ["name", "queue", "owner", "set_status", "set_priority"]
    list_filter = ["queue"]
    search_fields = ["name"]
    fields = ["name", "queue", "owner", "body", "set_status", "set_priority"]
    raw_id_fields = ["owner"]

    def save_model(
        self, request: HttpRequest, obj: CannedResponse, form: forms.ModelForm, change: bool
    ) -> None:
        services.canned_response_save(actor=request.user, response=obj)

    def delete_model(self, request: HttpRequest, obj: CannedResponse) -> None:
        services.canned_response_delete(actor=request.user, response=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CannedResponse]) -> None:
        for response in queryset:
            services.canned_response_delete(actor=request.user, response=response)
