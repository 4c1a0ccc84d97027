"""Field encryption at rest: AES-256-GCM with a keyring, and HMAC blind indexes.

A stored text value looks like ``$v1$<key id>$<base64url(nonce | ciphertext | tag)>``; a
stored binary value is ``b"$v1$<key id>$" + nonce + ciphertext + tag``. The format version
and key id travel with every value so keys can be rotated row by row (``manage.py
rotatekeys``). The associated data binds each value to ``app_label.model.field`` and to the
row's ``uid`` (a random UUID column every model with encrypted fields carries, known before
the INSERT, so bulk_create works), so a ciphertext copied into another field or row fails to
decrypt.

Decryption fails closed: a wrong key, a flipped bit, a swapped value or an unknown key id
raise DecryptionError; model attributes then read as an ``Undecryptable`` marker (shown as
"[cannot decrypt]"), the original ciphertext is kept untouched on save, and the
``decryption_failed`` signal lets the audit app record a security event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core import checks
from django.core.signals import setting_changed
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.dispatch import Signal, receiver

FORMAT_VERSION = "v1"
_TOKEN_RE = re.compile(
    r"^\$(?P<version>v\d{1,3})\$(?P<kid>[A-Za-z0-9_-]{1,32})\$(?P<body>[A-Za-z0-9_-]+={0,2})$"
)
_BINARY_HEAD_RE = re.compile(rb"^\$(?P<version>v\d{1,3})\$(?P<kid>[A-Za-z0-9_-]{1,32})\$")
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12
TAG_BYTES = 16
UNDECRYPTABLE_TEXT = "[cannot decrypt]"

# Sent with sender=the model class, field=<field name>, uid=<row uid>, reason=<short text>.
decryption_failed = Signal()


class KeyringError(ValueError):
    """The configured keys are missing or malformed."""


class DecryptionError(Exception):
    """A stored value could not be decrypted and authenticated."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current_id]


def _decode_key(text: str, *, what: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyringError(f"{what} is not valid base64") from None
    if len(raw) != 32:
        raise KeyringError(f"{what} must decode to 32 bytes (AES-256), not {len(raw)}")
    return raw


def parse_keyring(raw: str) -> Keyring:
    """Parse ``id:base64key`` entries separated by commas or newlines; the first is current."""
    entries = [part.strip() for part in re.split(r"[,\n]", raw or "") if part.strip()]
    if not entries:
        raise KeyringError("no keys configured (expected id:base64key[,id:base64key...])")
    keys: dict[str, bytes] = {}
    for entry in entries:
        kid, sep, text = entry.partition(":")
        kid = kid.strip()
        if not sep or not _KEY_ID_RE.match(kid):
            raise KeyringError("each key must look like id:base64key, id of [A-Za-z0-9_-]{1,32}")
        if kid in keys:
            raise KeyringError(f"key id {kid!r} appears twice")
        key = _decode_key(text, what=f"key {kid!r}")
        if key in keys.values():
            raise KeyringError(f"key {kid!r} repeats another key under a new id")
        keys[kid] = key
    return Keyring(current_id=next(iter(keys)), keys=keys)


def parse_blind_index_key(raw: str, *, name: str = "BLIND_INDEX_KEY") -> bytes:
    if not raw:
        raise KeyringError(f"{name} (or {name}_FILE) is not set")
    return _decode_key(raw, what=name)


def generate_key() -> str:
    """A new random 256-bit key, base64url encoded, for FIELD_ENCRYPTION_KEYS."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@lru_cache(maxsize=1)
def get_keyring() -> Keyring:
    from django.conf import settings

    return parse_keyring(settings.FIELD_ENCRYPTION_KEYS)


@lru_cache(maxsize=1)
def _blind_index_key() -> bytes:
    from django.conf import settings

    return parse_blind_index_key(settings.BLIND_INDEX_KEY)


@receiver(setting_changed, dispatch_uid="ticketsystem.crypto.reset_keys")
def _reset_key_caches(*, setting: str, **kwargs: Any) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"}:
        get_keyring.cache_clear()
        _blind_index_key.cache_clear()


# --- Values -------------------------------------------------------------------------------


def _seal(data: bytes, aad: bytes, ring: Keyring) -> tuple[str, bytes]:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return ring.current_id, nonce + AESGCM(ring.current_key).encrypt(nonce, data, aad)


def _open(version: str, kid: str, blob: bytes, aad: bytes, ring: Keyring) -> bytes:
    if version != FORMAT_VERSION:
        raise DecryptionError(f"unknown format version {version}")
    key = ring.keys.get(kid)
    if key is None:
        raise DecryptionError(f"unknown key id {kid!r}")
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated value")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError("authentication failed (wrong key, altered or moved value)") from None


def encrypt(plaintext: str, *, aad: bytes, keyring: Keyring | None = None) -> str:
    kid, blob = _seal(plaintext.encode("utf-8"), aad, keyring or get_keyring())
    return f"${FORMAT_VERSION}${kid}${base64.urlsafe_b64encode(blob).decode()}"


def decrypt(token: str, *, aad: bytes, keyring: Keyring | None = None) -> str:
    match = _TOKEN_RE.match(token)
    if not match:
        raise DecryptionError("not an encrypted value")
    try:
        blob = base64.urlsafe_b64decode(match["body"])
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed value") from None
    plain = _open(match["version"], match["kid"], blob, aad, keyring or get_keyring())
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:  # authenticated, so only a broken writer could cause it
        raise DecryptionError("decrypted value is not UTF-8") from None


def encrypt_bytes(data: bytes, *, aad: bytes, keyring: Keyring | None = None) -> bytes:
    kid, blob = _seal(bytes(data), aad, keyring or get_keyring())
    return f"${FORMAT_VERSION}${kid}$".encode() + blob


def decrypt_bytes(token: bytes, *, aad: bytes, keyring: Keyring | None = None) -> bytes:
    token = bytes(token)
    match = _BINARY_HEAD_RE.match(token)
    if not match:
        raise DecryptionError("not an encrypted value")
    blob = token[match.end() :]
    return _open(
        match["version"].decode(), match["kid"].decode(), blob, aad, keyring or get_keyring()
    )


def key_id_of(token: str | bytes) -> str:
    """The key id a stored value was sealed with (no key needed)."""
    if isinstance(token, bytes | bytearray | memoryview):
        match = _BINARY_HEAD_RE.match(bytes(token[:64]))
        if not match:
            raise DecryptionError("not an encrypted value")
        return match["kid"].decode()
    match = _TOKEN_RE.match(token)
    if not match:
        raise DecryptionError("not an encrypted value")
    return match["kid"]


def sealed_prefix(kid: str) -> str:
    """How every value sealed under ``kid`` in the current format begins."""
    return f"${FORMAT_VERSION}${kid}$"


def blind_index(value: str, *, purpose: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of a normalised value, for exact-match lookups on encrypted data."""
    normalised = value.strip().casefold()
    message = purpose.encode() + b"\x00" + normalised.encode("utf-8")
    return hmac.new(key or _blind_index_key(), message, hashlib.sha256).hexdigest()


# --- Model fields -------------------------------------------------------------------------


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
