"""Admin pages for mail out: each queue's mail options and templates, agents' notification
preferences, and the sent-mail log (read only: no addresses or bodies shown)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tickets.mail.outbound_models import (
    MailNotificationPreference,
    OutboundMail,
    QueueMailSettings,
)


@admin.register(QueueMailSettings)
class QueueMailSettingsAdmin(admin.ModelAdmin):
    list_display = ["queue", "send_acknowledgement", "send_resolved_note"]
    fieldsets = [
        (None, {"fields": ["queue", "signature"]}),
        ("Acknowledgement", {"fields": ["send_acknowledgement", "acknowledgement_template"]}),
        ("Resolved note", {"fields": ["send_resolved_note", "resolved_template"]}),
    ]
    help_texts = "Placeholders: {reference} {subject} {agent} {queue} {signature}"

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        for name in ("acknowledgement_template", "resolved_template"):
            form.base_fields[name].help_text = self.help_texts
        return form


@admin.register(MailNotificationPreference)
class MailNotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "on_assignment", "on_requester_reply", "on_mention"]
    autocomplete_fields = ["user"]


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "state", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["state", "kind"]
    fields = [*list_display, "message_id", "next_attempt_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
