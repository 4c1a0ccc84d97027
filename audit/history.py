"""Model history with django-auditlog: what is registered, how secrets are masked, how entries
are shown.

Encrypted fields (and blind indexes) are masked: an entry records that they changed, never a
value, and an entry's ``object_repr`` for a model holding encrypted data is built from its
primary key, never from ``__str__`` (Contact's would contain a name and an email address).
The admin site's own log (django_admin_log) gets the same label.

django-auditlog listens to model signals, so queryset.update() and bulk operations are not
recorded: services save instances with ``update_fields`` instead. The one deliberate
exception is key rotation, which rewrites ciphertext without changing any value and is
recorded as a ``keys_rotated`` security event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, Model
from django.db.models.signals import pre_save
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit import entries
from ticketsystem.crypto import BlindIndexField, EncryptedFieldMixin

MASK = "[encrypted]"
# Noise that says nothing about who changed what.
_ALWAYS_EXCLUDED = ["updated_at"]
# Recorded, but not worth a line on the page.
_HIDDEN = frozenset({"id", "uid"})


def mask_encrypted(value: str) -> str:
    """django-auditlog mask callable: the same constant for any value (no length, no hint)."""
    return MASK


def masked_fields(model: type[Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedFieldMixin | BlindIndexField)
    ]


def holds_encrypted_data(model: type[Model] | None) -> bool:
    return model is not None and any(
        isinstance(f, EncryptedFieldMixin) for f in model._meta.concrete_fields
    )


def needs_safe_label(model: type[Model] | None) -> bool:
    """Whether history must label the model's rows by object_label(), not str(): it holds
    encrypted data, or names its own label (a ticket: its reference, never its subject)."""
    return holds_encrypted_data(model) or hasattr(model, "audit_label")


def register_audited(
    model: type[Model],
    *,
    exclude_fields: tuple[str, ...] = (),
    m2m_fields: set[str] | None = None,
) -> None:
    """Record field-level history of a model, its encrypted fields masked. Apps call this
    for their own models from ``ready()`` (audit imports no app)."""
    if auditlog.contains(model):
        return
    options: dict[str, Any] = {"m2m_fields": m2m_fields} if m2m_fields else {}
    auditlog.register(
        model,
        exclude_fields=[*_ALWAYS_EXCLUDED, *exclude_fields],
        mask_fields=masked_fields(model),
        mask_callable="audit.history.mask_encrypted",
        **options,
    )


def register_models() -> None:
    """Register the user model and keep entry labels free of personal data (called from
    AuditConfig.ready(); the tickets app registers its own models)."""
    register_audited(
        get_user_model(),
        exclude_fields=("password", "last_login"),
        m2m_fields={"groups", "user_permissions"},
    )
    pre_save.connect(_safe_object_repr, sender=LogEntry, dispatch_uid="audit.safe_object_repr")
    pre_log.connect(entries.hold_create_entry, dispatch_uid="audit.hold_create_entry")
    pre_save.connect(
        _safe_admin_object_repr, sender=AdminLogEntry, dispatch_uid="audit.safe_admin_object_repr"
    )


def object_label(model: type[Model] | None, pk: Any) -> str:
    """A label for a history entry's object that holds no personal data."""
    if model is None:
        return f"#{pk}"
    audit_label = getattr(model, "audit_label", None)  # e.g. a ticket's reference
    if audit_label is not None:
        try:
            return audit_label(int(pk))
        except (TypeError, ValueError):
            pass
    return f"{gettext(str(model._meta.verbose_name)).capitalize()} #{pk}"


def _safe_object_repr(sender: Any, instance: LogEntry, **kwargs: Any) -> None:
    model = instance.content_type.model_class()
    if needs_safe_label(model):
        instance.object_repr = object_label(model, instance.object_pk)


def _safe_admin_object_repr(sender: Any, instance: AdminLogEntry, **kwargs: Any) -> None:
    model = instance.content_type.model_class() if instance.content_type_id else None
    if needs_safe_label(model):
        instance.object_repr = object_label(model, instance.object_id)


# --- Presentation ---------------------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    old: str
    new: str
    masked: bool = False


@dataclass
class HistoryRow:
    when: datetime
    actor: str
    action: str
    label: str
    remote_addr: str | None
    changes: list[FieldChange] = field(default_factory=list)


_ACTIONS = {
    LogEntry.Action.CREATE: _("created"),
    LogEntry.Action.UPDATE: _("changed"),
    LogEntry.Action.DELETE: _("deleted"),
    LogEntry.Action.ACCESS: _("viewed"),
}


def action_name(action: int) -> str:
    return str(_ACTIONS.get(action, action))


def _field_changes(
    entry: LogEntry, model: type[Model] | None, names: dict[str, dict[str, str]]
) -> list[FieldChange]:
    result: list[FieldChange] = []
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    masked = set(masked_fields(model)) if model is not None else set()
    for name, values in sorted(changes.items()):
        if name in _HIDDEN or (entry.action == LogEntry.Action.CREATE and name == "created_at"):
            continue  # identifiers and creation time say nothing the entry does not
        verbose = name.replace("_", " ")
        model_field = None
        if model is not None:
            try:
                model_field = model._meta.get_field(name)
                verbose = gettext(str(getattr(model_field, "verbose_name", verbose)))
            except FieldDoesNotExist:  # a field removed since: show the raw name
                model_field = None
        if model_field is not None and not model_field.concrete and not model_field.many_to_many:
            continue  # a reverse relation django-auditlog lists on creation
        if name in masked:
            result.append(FieldChange(verbose, "", "changed", masked=True))
            continue
        if isinstance(values, dict):  # many-to-many: {"type": "m2m", "operation", "objects"}
            objects = ", ".join(str(o) for o in values.get("objects", []))
            sign = gettext("added") if values.get("operation") == "add" else gettext("removed")
            result.append(FieldChange(verbose, "", f"{sign}: {objects}"))
            continue
        old, new = [*values, "", ""][:2] if isinstance(values, list | tuple) else ("", values)
        result.append(
            FieldChange(
                verbose, _display(model_field, old, names), _display(model_field, new, names)
            )
        )
    return result


def _display(model_field: Any, value: Any, names: dict[str, dict[str, str]]) -> str:
    text = "" if value in (None, "None") else str(value)
    if model_field is None or not text:
        return text
    if isinstance(model_field, DateTimeField):
        try:  # auditlog stores naive UTC text
            return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return text
    if getattr(model_field, "choices", None):
        for key, label in model_field.choices:
            if str(key) == text:
                return gettext(str(label))  # the reader's word, where the catalogue has one
    if model_field.is_relation and model_field.related_model is not None:
        related = model_field.related_model
        if hasattr(related, "audit_label"):
            return object_label(related, text)
        return names.get(related._meta.label_lower, {}).get(text, f"#{text}")
    return text


def _name_field(model: type[Model]) -> str | None:
    """The plain field that names a row of a related model (users, queues), if any."""
    if model is get_user_model():
        return "username"
    try:
        field = model._meta.get_field("name")
    except FieldDoesNotExist:
        return None
    return None if isinstance(field, EncryptedFieldMixin) else "name"


def _related_names(entries: list[LogEntry]) -> dict[str, dict[str, str]]:
    """Display names for the users and other named rows entries refer to by id (one query
    per related model)."""
    wanted: dict[type[Model], set[str]] = {}
    for entry in entries:
        model = entry.content_type.model_class()
        if model is None or not isinstance(entry.changes, dict):
            continue
        for name, values in entry.changes.items():
            try:
                related = model._meta.get_field(name).related_model
            except FieldDoesNotExist:
                related = None  # a field removed since the entry was written
            if related is None or _name_field(related) is None:
                continue
            if isinstance(values, list | tuple):
                wanted.setdefault(related, set()).update(
                    str(v) for v in values if str(v).isdecimal()
                )
    names: dict[str, dict[str, str]] = {}
    for model, ids in wanted.items():
        if not ids:
            continue
        rows = model._default_manager.filter(pk__in=[int(i) for i in ids]).values_list(
            "pk", _name_field(model)
        )
        names[model._meta.label_lower] = {str(pk): str(label) for pk, label in rows}
    return names


def history_rows(entries: list[LogEntry]) -> list[HistoryRow]:
    """Entries (with content_type and actor selected) as rows safe to show to managers."""
    names = _related_names(entries)
    rows = []
    for entry in entries:
        model = entry.content_type.model_class()
        rows.append(
            HistoryRow(
                when=entry.timestamp,
                actor=entry.actor.get_username() if entry.actor else gettext("system"),
                action=action_name(entry.action),
                label=entry.object_repr,
                remote_addr=entry.remote_addr,
                changes=_field_changes(entry, model, names),
            )
        )
    return rows


def change_summary(entry: LogEntry) -> str:
    """One line for CSV exports: ``field: old → new; secret: changed``."""
    model = entry.content_type.model_class()
    parts = []
    for change in _field_changes(entry, model, {}):
        if change.masked:
            parts.append(f"{change.name}: changed")
        elif change.old:
            parts.append(f"{change.name}: {change.old} → {change.new}")
        else:
            parts.append(f"{change.name}: {change.new}")
    return "; ".join(parts)
