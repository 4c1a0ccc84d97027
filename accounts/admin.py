"""Users and groups in the admin site. Only superusers (the admin role) manage accounts:
a manager who could edit users could also make themselves superuser."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

User = get_user_model()

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "roles", "is_active", "last_login"]
    list_filter = ["is_active", "groups", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]
    filter_horizontal = ["groups", "user_permissions"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Roles")
    def roles(self, obj: Any) -> str:
        names = [group.name for group in obj.groups.all()]
        if obj.is_superuser and "admin" not in names:
            names.append("admin (superuser)")
        return ", ".join(names) or "—"


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    list_display = ["name", "member_count"]

    @admin.display(description="Members")
    def member_count(self, obj: Group) -> int:
        return obj.user_set.count()
