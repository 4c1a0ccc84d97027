from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ticketsystem.roles import ROLE_LABELS, is_manager, primary_role


def site(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "app_version": settings.VERSION,
        "user_role": ROLE_LABELS.get(primary_role(user) or "") if user is not None else None,
        "user_is_manager": is_manager(user) if user is not None else False,
    }
