"""Users and groups in the admin site. Only superusers (the admin role) manage accounts:
a manager who could edit users could also make themselves superuser."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.models import TOTPDevice

User = get_user_model()

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "roles", "is_active", "two_factor", "last_login"]
    list_filter = ["is_active", "groups", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]
    filter_horizontal = ["groups", "user_permissions"]
    actions = ["reset_two_factor"]

    def get_queryset(self, request: HttpRequest) -> Any:
        enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return (
            super()
            .get_queryset(request)
            .prefetch_related("groups")
            .annotate(_two_factor=Exists(enrolled))
        )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's form sets the password; the service then ends the user's sessions,
        records the change and tells the user, in the same transaction."""
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    services.password_set_by_admin(actor=request.user, user=user, request=request)
        return response

    @admin.display(description=_("2FA"), boolean=True, ordering="_two_factor")
    def two_factor(self, obj: Any) -> bool:
        return obj._two_factor

    @admin.action(
        description=_("Reset two-factor authentication (re-enrol at next login)"),
        permissions=["change"],
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for user in queryset:
            services.two_factor_reset(actor=request.user, user=user, request=request)
        self.message_user(
            request,
            ngettext(
                "Two-factor authentication was reset for %(n)d user; their sessions were "
                "ended and they were told by email.",
                "Two-factor authentication was reset for %(n)d users; their sessions were "
                "ended and they were told by email.",
                queryset.count(),
            )
            % {"n": queryset.count()},
            messages.SUCCESS,
        )

    @admin.display(description=_("Roles"))
    def roles(self, obj: Any) -> str:
        names = [group.name for group in obj.groups.all()]
        if obj.is_superuser and "admin" not in names:
            names.append("admin (superuser)")
        return ", ".join(names) or "—"


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    list_display = ["name", "member_count"]

    @admin.display(description=_("Members"))
    def member_count(self, obj: Group) -> int:
        return obj.user_set.count()
