"""The login backend: Django's ModelBackend, loading with the user what every staff request
asks next (role names, and what apps register, e.g. the queues) in the same query.

``ticketsystem.roles.user_roles()`` and ``tickets.access.visible_queue_ids()`` cache those
answers on the user object per request; here they arrive with the user, so a page does not
spend two more round trips on them. The values are as fresh as the user row: read again on
every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Expression, OuterRef

from ticketsystem.roles import ROLE_NAMES_ATTRIBUTE, ROLES

# attribute name -> expression (over the user row) its value is annotated from
USER_ANNOTATIONS: dict[str, Callable[[], Expression]] = {
    ROLE_NAMES_ATTRIBUTE: lambda: ArraySubquery(
        Group.objects.filter(user=OuterRef("pk"), name__in=ROLES).values("name")
    ),
}


def annotate_with_user(name: str, expression: Callable[[], Expression]) -> None:
    """Load ``name`` with every request's user (an app's ``ready()`` registers it)."""
    USER_ANNOTATIONS[name] = expression


_SENTINEL = -7_345_129  # no user has it: marks the id's place among the parameters
_statement: tuple[frozenset[str], str, list[Any], int] | None = None


def _user_statement() -> tuple[str, list[Any], int]:
    """The user read's SQL, compiled once per process (and again if an app registers another
    annotation): the ORM spent about as long compiling it, with its subqueries, as
    PostgreSQL spent answering. Returns the SQL, its parameters and the id's position."""
    global _statement
    names = frozenset(USER_ANNOTATIONS)
    if _statement is None or _statement[0] != names:
        users = get_user_model()._default_manager.filter(pk=_SENTINEL)
        query = users.annotate(**{k: f() for k, f in USER_ANNOTATIONS.items()})[:1].query
        sql, params = query.sql_with_params()
        positions = [i for i, value in enumerate(params) if value == _SENTINEL]
        if len(positions) != 1:  # pragma: no cover - the ORM changed its compilation
            raise RuntimeError("cannot find the user id among the read's parameters")
        _statement = (names, sql, list(params), positions[0])
    return _statement[1], list(_statement[2]), _statement[3]


class StaffBackend(ModelBackend):
    """ModelBackend whose get_user() brings the annotations along (PostgreSQL; elsewhere
    ModelBackend's plain read, and the answers are read when first asked)."""

    def get_user(self, user_id: Any) -> Any:
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        sql, params, at = _user_statement()
        params[at] = pk
        user = next(iter(model._default_manager.raw(sql, params)), None)
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> Any:
        return await sync_to_async(self.get_user)(user_id)
