"""Signal receivers: ending sessions when a user logs out or is deactivated; counting failed
logins per username (accounts/lockout.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.db.models.signals import post_save

from accounts.signals import announce_sessions_ended


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        announce_sessions_ended([key], reason="logout")


def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created or instance.is_active or kwargs.get("raw"):
        return
    from accounts.services import user_sessions_end

    user_sessions_end(user=instance, reason="deactivated")


def connect() -> None:
    from accounts.lockout import login_failed

    user_logged_out.connect(_logged_out, dispatch_uid="accounts.logged_out")
    user_login_failed.connect(login_failed, dispatch_uid="accounts.login_failed")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="accounts.user_saved")
