"""Account writes: creating staff and setting roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.roles import ADMIN, MANAGER, ROLES
from audit.events import record_event


@transaction.atomic
def staff_create(
    *, actor: Any, username: str, password: str, role: str, email: str = ""
) -> Any:
    """Create a staff user with one role. Managers may use the admin site; admins are
    superusers. The password must pass every configured validator."""
    user_model = get_user_model()
    if role not in ROLES:
        raise ValidationError({"role": f"Role must be one of {', '.join(ROLES)}."})
    username = username.strip()
    user = user_model(
        username=username,
        email=email.strip(),
        is_staff=role in (MANAGER, ADMIN),
        is_superuser=role == ADMIN,
    )
    if email:
        validate_email(user.email)
    user.full_clean(exclude=["password"])
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    record_event(
        "user_created",
        actor=actor,
        username=username,
        resource=f"user:{user.pk}",
        details={"role": role},
    )
    return user
