"""The verified second factor of a request, checked with the user's own query.

django-otp's OTPMiddleware reads the session's device on every request (a query of its own)
to check that it still exists, belongs to the user and is confirmed. We ask the same
question of the user's row: the ids of the user's confirmed devices arrive with the user
(accounts/backends.py, an array subquery per device model), and the session's device must
be among them. A device deleted (2FA reset, replaced on re-enrolment) or not confirmed stops
the session being verified on its next request, as before. The device row itself is read
only if something asks for one of its fields; the 2FA gate asks only whether there is one.

A user loaded without those ids (another backend, not PostgreSQL) or a session naming a
device model of no app here falls back to django-otp's own read.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Expression, Model, OuterRef
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware

from accounts.backends import annotate_with_user
from accounts.models import BackupCodeDevice, TOTPDevice

DEVICE_MODELS: tuple[type[Model], ...] = (TOTPDevice, BackupCodeDevice)
_BY_LABEL = {model.model_label(): model for model in DEVICE_MODELS}
_UNKNOWN = object()  # not answerable from the user row: django-otp reads the device


def _ids_attribute(model: type[Model]) -> str:
    return f"_ticketsystem_confirmed_{model._meta.model_name}_ids"


def _confirmed_ids(model: type[Model]) -> Expression:
    devices = model._default_manager.filter(user=OuterRef("pk"), confirmed=True)
    return ArraySubquery(devices.values("pk"))


def register() -> None:
    """Load the user's confirmed device ids with every request's user (AccountsConfig)."""
    for model in DEVICE_MODELS:
        annotate_with_user(_ids_attribute(model), lambda model=model: _confirmed_ids(model))


def session_device(user: Any, persistent_id: Any) -> Any:
    """The session's device (read when first used) if it is one of the user's confirmed
    devices as loaded with the user; None if it is not; _UNKNOWN if that cannot be told."""
    if not isinstance(persistent_id, str):
        return None
    label, _, raw_pk = persistent_id.rpartition("/")
    model = _BY_LABEL.get(label)
    ids = getattr(user, _ids_attribute(model), None) if model is not None else None
    if ids is None:
        return _UNKNOWN
    try:
        pk = int(raw_pk)
    except ValueError:
        return None
    if pk not in ids:
        return None
    return SimpleLazyObject(lambda: model._default_manager.get(pk=pk, user_id=user.pk))


class OTPMiddleware(DjangoOTPMiddleware):
    """django-otp's middleware, answering "verified?" from the ids loaded with the user."""

    def _from_user_row(self, request: HttpRequest, user: Any) -> bool:
        """Set ``user.otp_device`` as django-otp would; False if only its read can tell."""
        if not user.is_authenticated:
            return False
        device = session_device(user, request.session.get(DEVICE_ID_SESSION_KEY))
        if device is _UNKNOWN:
            return False
        self._init_user_fields(user)
        if device is None and DEVICE_ID_SESSION_KEY in request.session:
            del request.session[DEVICE_ID_SESSION_KEY]  # as django-otp does
        user.otp_device = device
        return True

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        if self._from_user_row(request, user):
            return user
        return super()._verify_user_sync(request, user)

    async def _verify_user_async_via_auser(self, request: HttpRequest, auser: Any) -> Any:
        user = await auser()
        if self._from_user_row(request, user):
            return user
        return await super()._verify_user_async_via_auser(request, auser)
