"""Admin site for mail in: the received mail with its quarantine (release or delete), and each
queue's IMAP mailbox as an inline on the queue (tickets/admin.py adds it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tickets import services
from tickets.mail.inbound_models import InboundMessage, QueueMailbox
from tickets.services.mail_intake import DELETABLE
from ticketsystem.crypto import is_undecryptable

SOURCE_PREVIEW_BYTES = 20_000


class QueueMailboxForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Stored encrypted. Leave empty to keep the current password.",
    )

    class Meta:
        model = QueueMailbox
        fields = ["enabled", "host", "port", "use_ssl", "username", "password", "folder", "move_to"]

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            return password
        if self.instance.pk:
            return self.instance.password
        raise ValidationError(_("Enter the mailbox password."))


class QueueMailboxInline(admin.StackedInline):
    model = QueueMailbox
    form = QueueMailboxForm
    extra = 0
    max_num = 1
    readonly_fields = ["last_fetch_at", "last_error"]


@admin.action(description=gettext_lazy("Release: run intake again, ignoring the failed check"))
def release(modeladmin: Any, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
    done, failed = 0, []
    for inbound in queryset.filter(status=InboundMessage.Status.QUARANTINED):
        try:
            services.mail_release(actor=request.user, inbound=inbound)
            done += 1
        except (ValidationError, PermissionDenied) as exc:
            failed.append(f"mail #{inbound.pk}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
    if done:
        messages.success(
            request,
            ngettext("Released %(n)d message.", "Released %(n)d messages.", done) % {"n": done},
        )
    for line in failed:
        messages.error(request, line)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "status",
        "queue",
        "sender_display",
        "subject_display",
        "reason",
        "is_automatic",
        "ticket",
    ]
    list_filter = ["status", "is_automatic", "queue"]
    list_select_related = ["queue", "ticket"]
    actions = [release]
    list_per_page = 50
    show_full_result_count = False
    fields = [
        "status",
        "reason",
        "received_at",
        "size",
        "is_automatic",
        "queue",
        "sender_display",
        "subject_display",
        "ticket",
        "comment",
        "source",
    ]
    readonly_fields = [f for f in fields if f != "queue"]

    @admin.display(description="Sender")
    def sender_display(self, obj: InboundMessage) -> str:
        return "(cannot be decrypted)" if is_undecryptable(obj.sender) else str(obj.sender)

    @admin.display(description="Subject")
    def subject_display(self, obj: InboundMessage) -> str:
        return "(cannot be decrypted)" if is_undecryptable(obj.subject) else str(obj.subject)

    @admin.display(description="Source (beginning)")
    def source(self, obj: InboundMessage) -> str:
        raw = obj.raw
        if is_undecryptable(raw):
            return "(cannot be decrypted)"
        text = bytes(raw[:SOURCE_PREVIEW_BYTES]).decode("utf-8", "replace")
        return format_html("<pre class='mail-source'>{}</pre>", text)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only a quarantined message's queue may be set (for a release).
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status == InboundMessage.Status.QUARANTINED)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.status in DELETABLE)

    def delete_model(self, request: HttpRequest, obj: InboundMessage) -> None:
        services.mail_delete(actor=request.user, pks=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        services.mail_delete(actor=request.user, pks=list(queryset.values_list("pk", flat=True)))
