"""Security events from Django's auth signals, django-axes and the field encryption layer.

Connected in AuditConfig.ready(). The accounts app records its own 2FA and session events;
these cover what happens inside Django and its libraries.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from audit.events import record_event
from audit.middleware import current_request
from audit.tally import record_repeated_failure


def _user_resource(user: Any) -> str:
    return f"user:{user.pk}" if getattr(user, "pk", None) else ""


def login_succeeded(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_event("login_succeeded", actor=user, request=request, resource=_user_resource(user))


def login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # Django has already replaced the password in credentials; only the username is kept.
    username = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    record_repeated_failure("login_failed", username=str(username), request=request)


def logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return  # logging out an anonymous session changes nothing
    record_event("logout", actor=user, request=request, resource=_user_resource(user))


def locked_out(
    sender: Any, request: Any = None, username: Any = None, ip_address: Any = None, **kwargs: Any
) -> None:
    record_repeated_failure(
        "locked_out", username=str(username or ""), request=request, ip=ip_address
    )


def decrypt_failed(sender: Any, field: str, uid: str, reason: str, **kwargs: Any) -> None:
    request = current_request()
    user = getattr(request, "user", None) if request is not None else None
    meta = sender._meta
    record_event(
        "decrypt_failed",
        actor=user,
        request=request,
        resource=f"{meta.app_label}.{meta.model_name}.{field}:{uid}",
        details={"reason": reason},
    )
