"""Forms validate input only; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from tickets import access, list_choices, listing
from tickets.agent_models import CANNED_STATUSES
from tickets.labels import PRIORITY_LABELS, STATUS_LABELS
from tickets.models import (
    MAX_TEXT,
    Priority,
    Queue,
    Status,
    Ticket,
    user_display,
    validate_printable,
    validate_single_line,
)
from tickets.organising_models import Tag
from tickets.search import query as search_query

ATTACHMENT_HELP = _("Stored encrypted; PDFs, images, text and office documents.")


class QueueChoiceField(forms.ModelChoiceField):
    default_error_messages = {"invalid_choice": _("Select a queue you are a member of.")}


class TicketFilterForm(forms.Form):
    """The list's search and filters, all in the query string. No status means "Active"."""

    q = forms.CharField(
        required=False, max_length=200, validators=[validate_single_line], label=_("Search")
    )
    status = forms.ChoiceField(
        required=False,
        label=_("Status"),
        choices=[("active", _("Active")), ("any", _("Any status")), *STATUS_LABELS.items()],
    )
    queue = QueueChoiceField(
        required=False, queryset=Queue.objects.none(), empty_label=_("Any queue"), label=_("Queue")
    )
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Priority"),
        choices=[("", _("Any priority")), *PRIORITY_LABELS.items()],
    )
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    due = forms.ChoiceField(
        required=False,
        label=_("Due"),
        choices=[
            ("", _("Any due date")),
            ("overdue", _("Overdue")),
            ("soon", _("Due within the hour")),
        ],
    )
    tag = forms.ModelChoiceField(
        required=False,
        queryset=Tag.objects.all(),
        to_field_name="slug",
        empty_label=_("Any tag"),
        label=_("Tag"),
    )
    sort = forms.ChoiceField(required=False, choices=listing.sort_choices(), label=_("Sort"))

    def __init__(self, data: Any = None, *args: Any, user: Any, **kwargs: Any) -> None:
        if data is not None and not (data.get("status") and data.get("sort")):
            data = data.copy()  # the defaults shown as chosen, as the list applies them
            data["status"] = data.get("status") or "active"
            data["sort"] = data.get("sort") or listing.DEFAULT_SORT
        super().__init__(data, *args, **kwargs)
        self.search_notice = ""  # why a search found nothing to look for (shown, not an error)
        self.fields["queue"].queryset = access.visible_queues(user)
        list_choices.offer(self.fields["queue"], list_choices.queues(user))
        list_choices.offer(self.fields["tag"], list_choices.tags(user))
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("unassigned", _("Unassigned")),
            *((str(pk), name) for pk, name in list_choices.people(user)),
        ]

    def clean_q(self) -> str:
        q = self.cleaned_data["q"].strip()
        if q and not Ticket.pk_from_reference(q.upper()):
            self.search_notice = search_query.parse(q).problem
        return q

    def clean_status(self) -> str:
        return self.cleaned_data.get("status") or "active"

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or listing.DEFAULT_SORT

    def active_filters(self) -> int:
        """How many filters differ from the defaults (the phone's folded "Filter" shows it)."""
        data = getattr(self, "cleaned_data", {})
        chosen = [data.get(name) for name in ("q", "queue", "priority", "assignee", "due", "tag")]
        return sum(1 for value in chosen if value not in (None, "")) + (
            data.get("status", "active") != "active"
        )


class TicketCreateForm(forms.Form):
    queue = QueueChoiceField(queryset=Queue.objects.none(), empty_label=None, label=_("Queue"))
    subject = forms.CharField(
        max_length=200,
        validators=[validate_single_line],
        label=_("Subject"),
        help_text=_("Visible in lists and live updates. Keep personal data in the description."),
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        validators=[MaxLengthValidator(MAX_TEXT), validate_printable],
        label=_("Description"),
        help_text=_("Encrypted at rest."),
    )
    priority = forms.TypedChoiceField(
        coerce=int,
        choices=list(PRIORITY_LABELS.items()),
        initial=Priority.NORMAL,
        label=_("Priority"),
    )
    contact_email = forms.EmailField(required=False, label=_("Requester email"), max_length=254)
    contact_name = forms.CharField(
        required=False, label=_("Requester name"), max_length=200, validators=[validate_single_line]
    )
    contact_phone = forms.CharField(
        required=False, label=_("Requester phone"), max_length=40, validators=[validate_single_line]
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_notice = ""  # why a search found nothing to look for (shown, not an error)
        self.fields["queue"].queryset = access.visible_queues(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("contact_name") or data.get("contact_phone")) and not data.get(
            "contact_email"
        ):
            self.add_error(
                "contact_email", _("Give the requester's email so we can find them again.")
            )
        return data


class CommentForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "data-composer-body": ""}),
        max_length=MAX_TEXT,
        validators=[validate_printable],
        label=_("Message"),
        help_text=_("Mention a colleague in an internal note with @username."),
    )
    is_internal = forms.BooleanField(
        required=False, label=_("Internal note (not visible to the requester)")
    )
    file = forms.FileField(
        required=False, label=_("Attach a file (optional)"), help_text=ATTACHMENT_HELP
    )
    # The Send button pressed ("", pending, resolved); ``status`` and ``priority`` are what
    # an inserted canned response sets, used when the plain Send button is pressed.
    then = forms.ChoiceField(required=False, choices=[("", ""), *CANNED_STATUSES])
    status = forms.ChoiceField(
        required=False, choices=[("", ""), *CANNED_STATUSES], widget=forms.HiddenInput
    )
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", ""), *Priority.choices],
        widget=forms.HiddenInput,
    )

    def new_status(self) -> str:
        return self.cleaned_data.get("then") or self.cleaned_data.get("status") or ""


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Unassigned"), label=_("Assignee")
    )

    def __init__(self, *args: Any, queue: Queue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = access.assignable_users(queue)
        self.fields["assignee"].label_from_instance = user_display  # names, not usernames
        self.fields["assignee"].error_messages["invalid_choice"] = _(
            "Select someone who works this queue."
        )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=list(STATUS_LABELS.items()))
    confirm = forms.BooleanField(
        required=False, label=_("Yes, close it: a closed ticket cannot be reopened")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("status") == Status.CLOSED and not data.get("confirm"):
            self.add_error(
                "confirm", _("Confirm that you want to close the ticket; closing is final.")
            )
        return data


class SubjectForm(forms.Form):
    subject = forms.CharField(max_length=200, validators=[validate_single_line], label=_("Subject"))


class RequesterForm(forms.Form):
    email = forms.EmailField(required=False, label=_("Requester email"), max_length=254)
    name = forms.CharField(
        required=False,
        label=_("Requester name"),
        max_length=200,
        validators=[validate_single_line],
        help_text=_("Empty email: the ticket has no requester."),
    )


class CCForm(forms.Form):
    cc = forms.CharField(
        required=False,
        max_length=5000,
        label=_("CC"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Email addresses, separated by commas or new lines."),
    )

    def clean_cc(self) -> list[str]:
        raw = self.cleaned_data["cc"].replace("\n", ",").replace(";", ",")
        emails = [part.strip() for part in raw.split(",") if part.strip()]
        field = forms.EmailField(max_length=254)
        for email in emails:
            try:
                field.clean(email)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("%(value)s is not an email address.") % {"value": email[:80]}
                ) from None
        return emails


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        coerce=int, choices=list(PRIORITY_LABELS.items()), label=_("Priority")
    )


class MoveForm(forms.Form):
    queue = QueueChoiceField(queryset=Queue.objects.none(), empty_label=None, label=_("Queue"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_notice = ""  # why a search found nothing to look for (shown, not an error)
        self.fields["queue"].queryset = access.visible_queues(user)


class AttachmentForm(forms.Form):
    """One file for a ticket; size, type and name are checked by tickets/attachments.py."""

    file = forms.FileField(label=_("File"), help_text=ATTACHMENT_HELP)
