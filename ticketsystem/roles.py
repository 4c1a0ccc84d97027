"""Roles are Django groups made by a data migration: agent, manager, admin."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

AGENT = "agent"
MANAGER = "manager"
ADMIN = "admin"
ROLES = (AGENT, MANAGER, ADMIN)
# The role as the header shows it, in the reader's language.
ROLE_LABELS = {AGENT: _("agent"), MANAGER: _("manager"), ADMIN: _("admin")}
# The user's role names when they were loaded with the user (accounts/backends.py).
ROLE_NAMES_ATTRIBUTE = "_ticketsystem_role_names"


def user_roles(user: Any) -> frozenset[str]:
    """The user's role names, cached on the user object for the rest of the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_ticketsystem_roles", None)
    if cached is None:
        names = getattr(user, ROLE_NAMES_ATTRIBUTE, None)
        if names is None:
            names = user.groups.filter(name__in=ROLES).values_list("name", flat=True)
        cached = frozenset(names)
        if user.is_superuser:
            cached |= {ADMIN}
        user._ticketsystem_roles = cached
    return cached


def is_manager(user: Any) -> bool:
    """Managers and admins see every queue and may use the admin site."""
    return bool(user_roles(user) & {MANAGER, ADMIN})


def is_staff_member(user: Any) -> bool:
    """Anyone with a role may use the staff UI."""
    return bool(user_roles(user))


def primary_role(user: Any) -> str | None:
    roles = user_roles(user)
    return next((role for role in (ADMIN, MANAGER, AGENT) if role in roles), None)
