"""Forms of the ticket list's actions: a bulk change of the selected tickets, and saving
the list's filters as a view. They validate input only; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from tickets import access, list_choices
from tickets.forms import QueueChoiceField
from tickets.labels import PRIORITY_LABELS, STATUS_LABELS
from tickets.listing import PAGE_PARAMETERS
from tickets.models import Queue, Ticket, validate_single_line
from tickets.organising_models import Tag
from tickets.services import BULK_ACTIONS

MAX_BULK = 200


def clean_query(raw: str) -> str:
    """A list query string, re-encoded (no page or cursor, nothing but key=value pairs)."""
    query = QueryDict(raw[:1000], mutable=True)
    for key in (*PAGE_PARAMETERS, "view"):
        query.pop(key, None)
    return query.urlencode()[:500]


class BulkForm(forms.Form):
    """Which tickets (by reference), which action, and that action's value."""

    action = forms.ChoiceField(choices=[(a, a) for a in BULK_ACTIONS])
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Nobody (unassign)"), label=_("Assign to")
    )
    status = forms.ChoiceField(
        required=False, label=_("Status"), choices=[("", "—"), *STATUS_LABELS.items()]
    )
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Priority"),
        choices=[("", "—"), *PRIORITY_LABELS.items()],
    )
    queue = QueueChoiceField(
        required=False, queryset=Queue.objects.none(), empty_label="—", label=_("Move to")
    )
    tag = forms.ModelChoiceField(
        required=False,
        queryset=Tag.objects.all(),
        to_field_name="slug",
        empty_label="—",
        label=_("Tag"),
    )
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bulk-%s")
        super().__init__(*args, **kwargs)
        people = list_choices.people(user)
        ids = [pk for pk, _ in people]
        users = get_user_model().objects.filter(pk__in=ids).order_by("username")
        self.fields["assignee"].queryset = users  # validates; rendering offers what was read
        list_choices.offer(self.fields["assignee"], people)
        self.fields["queue"].queryset = access.visible_queues(user)
        list_choices.offer(self.fields["queue"], list_choices.queues(user))
        list_choices.offer(self.fields["tag"], list_choices.tags(user))
        self.references: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        refs = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        if not refs:
            raise forms.ValidationError(_("Select at least one ticket."))
        if len(refs) > MAX_BULK:
            raise forms.ValidationError(
                _("Select at most %(n)d tickets at once.") % {"n": MAX_BULK}
            )
        if any(Ticket.pk_from_reference(ref) is None for ref in refs):
            raise forms.ValidationError(_("A selected ticket reference is not valid."))
        self.references = refs
        action = data.get("action")
        if action and action != "assign" and data.get(action) in (None, ""):
            self.add_error(action, _("Choose a value for this action."))
        return data

    @property
    def value(self) -> Any:
        action = self.cleaned_data["action"]
        return self.cleaned_data.get("assignee" if action == "assign" else action)


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=60, validators=[validate_single_line], label=_("View name"))
    queue = QueueChoiceField(
        required=False,
        queryset=Queue.objects.none(),
        empty_label=_("Only me"),
        label=_("Share with"),
    )
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, can_share: bool, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "view-%s")
        super().__init__(*args, **kwargs)
        if can_share:
            self.fields["queue"].queryset = access.visible_queues(user)
            list_choices.offer(self.fields["queue"], list_choices.queues(user))
        else:
            del self.fields["queue"]
