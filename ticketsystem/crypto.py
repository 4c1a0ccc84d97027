"""Encrypted model fields: values sealed in the model layer, so every path sees ciphertext.

Each value is AES-256-GCM ciphertext (``ticketsystem/cipher.py``) whose associated data
binds it to ``app_label.model.field`` and to the row's ``uid`` (a random UUID column every
model with encrypted fields carries, known before the INSERT, so bulk_create works), so a
ciphertext copied into another field or row fails to decrypt. BlindIndexField keeps an HMAC
of another field's plaintext for exact-match lookups.

Decryption fails closed: model attributes read as an ``Undecryptable`` marker (shown as
"[cannot decrypt]"), the original ciphertext is kept untouched on save, and the
``decryption_failed`` signal lets the audit app record a security event.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from django.core import checks
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.dispatch import Signal

from ticketsystem.cipher import (
    DecryptionError,
    blind_index,
    decrypt,
    decrypt_bytes,
    encrypt,
    encrypt_bytes,
    sealed_prefix,
)

UNDECRYPTABLE_TEXT = "[cannot decrypt]"

# Sent with sender=the model class, field=<field name>, uid=<row uid>, reason=<short text>.
decryption_failed = Signal()


class Sealed(str):
    """A ciphertext as loaded from the database, not yet decrypted."""


class Token(str):
    """A ciphertext produced for saving (lets queryset.update() write pre-encrypted values)."""


class SealedBytes(bytes):
    """A binary ciphertext as loaded from the database, not yet decrypted."""


class TokenBytes(bytes):
    """A binary ciphertext produced for saving."""


class Undecryptable(str):
    """Read from a value that failed to decrypt; renders as a marker, saves the original."""

    undecryptable = True

    def __new__(cls, token: str, reason: str) -> Undecryptable:
        obj = super().__new__(cls, UNDECRYPTABLE_TEXT)
        obj.token = token
        obj.reason = reason
        return obj


class UndecryptableBytes(bytes):
    """Binary content that failed to decrypt: empty, flagged, and saves the original."""

    undecryptable = True

    def __new__(cls, token: bytes, reason: str) -> UndecryptableBytes:
        obj = super().__new__(cls, b"")
        obj.token = bytes(token)
        obj.reason = reason
        return obj


def is_undecryptable(value: Any) -> bool:
    return bool(getattr(value, "undecryptable", False))


_ORIGINALS = "_encrypted_originals"


def _unchanged_token(instance: models.Model, attname: str, value: Any) -> Any:
    """The stored ciphertext if ``value`` is still what it decrypted to.

    That includes the marker text of a value that did not decrypt coming back from a form
    (the admin site re-saves every field): the original ciphertext is kept, never the marker.
    """
    original = instance.__dict__.get(_ORIGINALS, {}).get(attname)
    if original is None:
        return None
    token, plain = original
    same_kind = isinstance(value, bytes) == isinstance(plain, bytes)
    if same_kind and (type(value) is type(plain) or is_undecryptable(plain)) and value == plain:
        return token
    return None


class _EncryptedAttribute(DeferredAttribute):
    """Decrypts on first read and caches the plaintext on the instance."""

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed | SealedBytes):
            sealed = value
            value = self.field.open(instance, sealed)
            instance.__dict__[self.field.attname] = value
            # Saving an unchanged value writes this ciphertext back, not a new one.
            instance.__dict__.setdefault(_ORIGINALS, {})[self.field.attname] = (sealed, value)
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class KeyIdLookup(models.Lookup):
    """``field__key_id="k2"``: rows whose value is sealed under key k2 in the current format.

    Compares only the clear prefix of the stored value; used by key rotation to find the rows
    still sealed under an old key without reading (or decrypting) the rest.
    """

    lookup_name = "key_id"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list[Any]]:
        prefix = sealed_prefix(str(value))
        return "%s", [prefix.encode() if self.lhs.output_field.binary else prefix]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        length = len(sealed_prefix(str(self.rhs)))
        return f"SUBSTR({lhs}, 1, {length}) = {rhs}", [*lhs_params, *rhs_params]


class EncryptedFieldMixin:
    """What text and binary encrypted fields share: associated data, open, seal, checks."""

    descriptor_class = _EncryptedAttribute
    row_id_field = "uid"
    binary = False
    _allowed_lookups = frozenset({"isnull", "key_id"})

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)  # type: ignore[misc]
        names = {f.name for f in self.model._meta.get_fields()}  # type: ignore[attr-defined]
        if self.row_id_field not in names:
            errors.append(
                checks.Error(
                    f"{self.model.__name__} has an encrypted field but no '{self.row_id_field}'.",  # type: ignore[attr-defined]
                    obj=self,
                    id="ticketsystem.E010",
                )
            )
        return errors

    @property
    def aad_label(self) -> str:
        meta = self.model._meta  # type: ignore[attr-defined]
        return f"{meta.app_label}.{meta.model_name}.{self.name}"  # type: ignore[attr-defined]

    def associated_data(self, instance: models.Model) -> bytes:
        row = getattr(instance, self.row_id_field)
        return f"{self.aad_label}:{row}".encode()

    def decrypt_token(self, instance: models.Model, token: Any) -> Any:
        raise NotImplementedError

    def encrypt_value(self, instance: models.Model, value: Any) -> Any:
        raise NotImplementedError

    def open(self, instance: models.Model, sealed: Any) -> Any:
        """Decrypt a stored value, or return the Undecryptable marker and send the signal."""
        try:
            return self.decrypt_token(instance, sealed)
        except DecryptionError as exc:
            decryption_failed.send(
                sender=self.model,  # type: ignore[attr-defined]
                field=self.name,  # type: ignore[attr-defined]
                uid=str(getattr(instance, self.row_id_field, "")),
                reason=str(exc),
            )
            marker = UndecryptableBytes if self.binary else Undecryptable
            return marker(sealed, str(exc))

    def reseal(self, instance: models.Model, token: Any) -> Any:
        """Re-encrypt a stored value under the current key (raises DecryptionError)."""
        return self.encrypt_value(instance, self.decrypt_token(instance, token))

    def stored_value(self, instance: models.Model) -> Any:
        """The ciphertext as it is (or would be) stored, never the plaintext."""
        return self.pre_save(instance, add=False)

    def get_lookup(self, lookup_name: str) -> Any:
        # The database holds ciphertext: any other lookup would silently match nothing.
        if lookup_name not in self._allowed_lookups:
            return None
        return super().get_lookup(lookup_name)  # type: ignore[misc]

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        """Serialisers (dumpdata) get ciphertext: plaintext leaves only through the UI."""
        value = self.stored_value(obj)
        if value is None:
            return ""
        return base64.b64encode(value).decode() if self.binary else str(value)


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """A text column stored as AES-256-GCM ciphertext bound to its model, field and row uid.

    Only ``isnull`` and ``key_id`` lookups work: the database holds ciphertext. Use a
    BlindIndexField for exact-match search.
    """

    def decrypt_token(self, instance: models.Model, token: Any) -> str:
        return decrypt(str(token), aad=self.associated_data(instance))

    def encrypt_value(self, instance: models.Model, value: Any) -> Token:
        return Token(encrypt(str(value), aad=self.associated_data(instance)))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else Sealed(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Sealed | Token):
            return value
        if isinstance(value, Undecryptable):
            return Token(value.token)
        if (unchanged := _unchanged_token(model_instance, self.attname, value)) is not None:
            return Token(unchanged)
        return self.encrypt_value(model_instance, value)

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if hasattr(value, "as_sql"):
            return value  # bulk_update's CASE: each value inside is checked on its own
        if value is None or isinstance(value, Sealed | Token):
            return None if value is None else str(value)
        raise TypeError(
            f"{self.model.__name__}.{self.name} is encrypted: write it through a model "
            "instance's save(), not queryset.update() or bulk_update() with plaintext"
        )


class EncryptedBinaryField(EncryptedFieldMixin, models.BinaryField):
    """A bytea column stored as AES-256-GCM ciphertext bound to its model, field and row uid.

    Reading the attribute decrypts the whole value: keep such columns deferred (see the
    Attachment manager) so lists never load them.
    """

    binary = True

    def decrypt_token(self, instance: models.Model, token: Any) -> bytes:
        return decrypt_bytes(bytes(token), aad=self.associated_data(instance))

    def encrypt_value(self, instance: models.Model, value: Any) -> TokenBytes:
        return TokenBytes(encrypt_bytes(bytes(value), aad=self.associated_data(instance)))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else SealedBytes(bytes(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, SealedBytes | TokenBytes):
            return value
        if isinstance(value, UndecryptableBytes):
            return TokenBytes(value.token)
        if (unchanged := _unchanged_token(model_instance, self.attname, value)) is not None:
            return TokenBytes(unchanged)
        return self.encrypt_value(model_instance, value)

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if hasattr(value, "as_sql"):
            return value  # bulk_update's CASE: each value inside is checked on its own
        if value is None or isinstance(value, SealedBytes | TokenBytes):
            return None if value is None else connection.Database.Binary(bytes(value))
        raise TypeError(
            f"{self.model.__name__}.{self.name} is encrypted: write it through a model "
            "instance's save(), not queryset.update() with plaintext"
        )


EncryptedTextField.register_lookup(KeyIdLookup)
EncryptedBinaryField.register_lookup(KeyIdLookup)


def encrypted_fields() -> Iterator[EncryptedFieldMixin]:
    """Every encrypted field of every installed model (for rotation, checks and tests)."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedFieldMixin):
                yield field


class BlindIndexField(models.CharField):
    """HMAC-SHA256 of another (encrypted) field's normalised plaintext, kept up to date on save.

    Save it together with its source (``update_fields=["email", "email_index"]``).
    """

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[Any, ...]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    @property
    def purpose(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}.{meta.model_name}.{self.source}"

    def index_for(self, value: str) -> str:
        return blind_index(value, purpose=self.purpose)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        plain = model_instance.__dict__.get(self.source)
        if isinstance(plain, Sealed | Token | Undecryptable):
            return getattr(model_instance, self.attname)  # source unchanged: keep the index
        value = "" if not plain else self.index_for(str(plain))
        setattr(model_instance, self.attname, value)
        return value
