"""Filters for the audit pages (query string only; read-only pages)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from auditlog.models import LogEntry
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.events import ACTION_RE
from audit.history import action_name
from audit.models import SecurityEvent

KNOWN_ACTIONS = [
    "login_succeeded", "login_failed", "locked_out", "logout", "otp_failed", "otp_replayed",
    "backup_code_used", "2fa_enrolled", "2fa_reset", "backup_codes_regenerated",
    "password_changed", "session_revoked", "access_denied", "websocket_rejected",
    "decrypt_failed", "attachment_downloaded", "exported", "erased", "purged",
    "backup_created", "backup_restored", "keys_rotated", "user_created",
    "mail_quarantined", "mail_rejected", "mail_bounced", "mail_forged_token", "mail_released",
    "mail_deleted", "audit_reanchored",
]  # fmt: skip


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class _DateRangeForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label=_("User"))
    date_from = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ip = forms.GenericIPAddressField(required=False, label=_("IP address"), unpack_ipv4=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def _range(self, qs: QuerySet[Any], column: str) -> QuerySet[Any]:
        data = self.cleaned_data
        if data.get("date_from"):
            qs = qs.filter(**{f"{column}__gte": _day_start(data["date_from"])})
        # The last day of the calendar has no next day to stop before: no upper bound.
        if data.get("date_to") and data["date_to"] < date.max:
            qs = qs.filter(**{f"{column}__lt": _day_start(data["date_to"] + timedelta(days=1))})
        return qs

    def active_filters(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.cleaned_data.items() if v not in (None, "")}


class EventFilterForm(_DateRangeForm):
    action = forms.CharField(required=False, max_length=40, label=_("Action"))

    field_order = ["actor", "action", "date_from", "date_to", "ip"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A datalist, not a closed choice: other parts of the system add their own actions.
        self.fields["action"].widget.attrs["list"] = "known-actions"

    def clean_action(self) -> str:
        action = self.cleaned_data.get("action", "")
        if action and not ACTION_RE.match(action):
            raise forms.ValidationError(
                _("Actions are lower-case words joined by _, such as login_failed.")
            )
        return action

    def apply(self, qs: QuerySet[SecurityEvent]) -> QuerySet[SecurityEvent]:
        data = self.cleaned_data
        if data.get("actor"):
            qs = qs.filter(actor_username__iexact=data["actor"])
        if data.get("action"):
            qs = qs.filter(action=data["action"])
        if data.get("ip"):
            qs = qs.filter(ip=data["ip"])
        return self._range(qs, "created_at")


def _history_models() -> list[tuple[str, str]]:
    from auditlog.registry import auditlog

    choices = [
        (
            f"{m._meta.app_label}.{m._meta.model_name}",
            gettext(str(m._meta.verbose_name)).capitalize(),
        )
        for m in auditlog.get_models()
    ]
    return [("", _("Any record type")), *sorted(choices, key=lambda c: c[1])]


class HistoryFilterForm(_DateRangeForm):
    model = forms.ChoiceField(required=False, label=_("Record type"))
    action = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Change"),
        choices=[("", _("Any change"))]
        + [(a, lazy(action_name, str)(a)) for a, _label in LogEntry.Action.choices],
    )
    object_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, label=_("Record id")
    )

    field_order = ["actor", "model", "object_id", "action", "date_from", "date_to", "ip"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = _history_models()

    def apply(self, qs: QuerySet[LogEntry]) -> QuerySet[LogEntry]:
        data = self.cleaned_data
        if data.get("actor"):
            qs = qs.filter(actor__username__iexact=data["actor"])
        if data.get("model"):
            app_label, model = data["model"].split(".", 1)
            qs = qs.filter(content_type=ContentType.objects.get_by_natural_key(app_label, model))
        if data.get("object_id"):
            qs = qs.filter(object_id=data["object_id"])
        if data.get("action") is not None:
            qs = qs.filter(action=data["action"])
        if data.get("ip"):
            qs = qs.filter(remote_addr=data["ip"])
        return self._range(qs, "timestamp")
