"""SESSION_ENGINE: Django's database sessions on our UserSession model (accounts/models.py).

Django's documented extension point for database sessions: the columns that let us list
and revoke a user's sessions are copied from the session data each time it is saved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone

from accounts import session_policy


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _user_id(data: dict[str, Any]) -> Any:
    if data.get(SESSION_KEY) is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(data[SESSION_KEY])
    except ValidationError:
        return None


def _fill(obj: Any, data: dict[str, Any]) -> Any:
    """Copy what the sessions page shows from the session data into the row's columns."""
    obj.user_id = _user_id(data)
    obj.sid = str(data.get(session_policy.SID, ""))[:32]
    obj.signed_in_at = _timestamp(data.get(session_policy.AUTH_AT))
    obj.last_activity = _timestamp(data.get(session_policy.LAST_SEEN))
    obj.ip = data.get(session_policy.CLIENT_IP) or None
    obj.user_agent = str(data.get(session_policy.CLIENT_UA, ""))[:512]
    return obj


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> type:
        from accounts.models import UserSession

        return UserSession

    def load(self) -> dict[str, Any]:
        """The session's data, as Django's database store reads it, in one plain statement
        (the ORM's compilation of that read cost about as long as PostgreSQL's answer, on
        every request)."""
        model = self.model
        conn = connections[router.db_for_read(model)]
        quote = conn.ops.quote_name
        table = quote(model._meta.db_table)  # names from the model; values are parameters
        where = f"{quote('session_key')} = %s AND {quote('expire_date')} > %s"
        sql = f"SELECT {quote('session_data')} FROM {table} WHERE {where}"  # noqa: S608
        with conn.cursor() as cursor:
            cursor.execute(sql, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does: a new key when saved
            return {}
        return self.decode(row[0])

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        return _fill(super().create_model_instance(data), data)

    async def acreate_model_instance(self, data: dict[str, Any]) -> Any:
        return _fill(await super().acreate_model_instance(data), data)
