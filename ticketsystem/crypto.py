"""Field encryption at rest: AES-256-GCM with a keyring, and HMAC blind indexes.

A stored value looks like ``$v1$<key id>$<base64url(nonce | ciphertext | tag)>``. The format
version and key id travel with every value so keys can be rotated row by row. The associated
data binds each value to ``app_label.model.field`` and to the row's ``uid`` (a random UUID
column every model with encrypted fields carries, known before the INSERT, so bulk_create
works), so a ciphertext copied into another field or row fails to decrypt.

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
_TOKEN_RE = re.compile(r"^\$(?P<version>v\d+)\$(?P<kid>[A-Za-z0-9_-]{1,32})\$(?P<body>[A-Za-z0-9_-]+={0,2})$")
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12
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
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
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
        if not sep or not _KEY_ID_RE.match(kid):
            raise KeyringError("each key must look like id:base64key, id of [A-Za-z0-9_-]")
        if kid in keys:
            raise KeyringError(f"key id {kid!r} appears twice")
        keys[kid] = _decode_key(text, what=f"key {kid!r}")
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


def encrypt(plaintext: str, *, aad: bytes, keyring: Keyring | None = None) -> str:
    ring = keyring or get_keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(ring.current_key).encrypt(nonce, plaintext.encode("utf-8"), aad)
    body = base64.urlsafe_b64encode(nonce + sealed).decode()
    return f"${FORMAT_VERSION}${ring.current_id}${body}"


def key_id_of(token: str) -> str:
    match = _TOKEN_RE.match(token)
    if not match:
        raise DecryptionError("not an encrypted value")
    return match["kid"]


def decrypt(token: str, *, aad: bytes, keyring: Keyring | None = None) -> str:
    ring = keyring or get_keyring()
    match = _TOKEN_RE.match(token)
    if not match:
        raise DecryptionError("not an encrypted value")
    if match["version"] != FORMAT_VERSION:
        raise DecryptionError(f"unknown format version {match['version']}")
    key = ring.keys.get(match["kid"])
    if key is None:
        raise DecryptionError(f"unknown key id {match['kid']!r}")
    try:
        blob = base64.urlsafe_b64decode(match["body"])
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed value") from None
    if len(blob) < NONCE_BYTES + 16:
        raise DecryptionError("truncated value")
    try:
        plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError("authentication failed (wrong key, altered or moved value)") from None
    return plain.decode("utf-8")


def blind_index(value: str, *, purpose: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of a normalised value, for exact-match lookups on encrypted data."""
    normalised = value.strip().casefold()
    message = purpose.encode() + b"\x00" + normalised.encode("utf-8")
    return hmac.new(key or _blind_index_key(), message, hashlib.sha256).hexdigest()


# --- Model fields -------------------------------------------------------------------------


class Sealed(str):
    """A ciphertext as loaded from the database, not yet decrypted."""


class Token(str):
    """A ciphertext produced for saving (lets bulk_update write pre-encrypted values)."""


class Undecryptable(str):
    """Read from a value that failed to decrypt; renders as a marker, saves the original."""

    undecryptable = True

    def __new__(cls, token: str, reason: str) -> Undecryptable:
        obj = super().__new__(cls, UNDECRYPTABLE_TEXT)
        obj.token = token
        obj.reason = reason
        return obj


class _EncryptedAttribute(DeferredAttribute):
    """Decrypts on first read and caches the plaintext on the instance."""

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = self.field.open(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A text column stored as AES-256-GCM ciphertext bound to its model, field and row uid.

    Only ``isnull`` lookups work: the database holds ciphertext. Use a BlindIndexField for
    exact-match search.
    """

    descriptor_class = _EncryptedAttribute
    row_id_field = "uid"

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        names = {f.name for f in self.model._meta.get_fields()}
        if self.row_id_field not in names:
            errors.append(
                checks.Error(
                    f"{self.model.__name__} has an encrypted field but no '{self.row_id_field}'.",
                    obj=self,
                    id="ticketsystem.E010",
                )
            )
        return errors

    def associated_data(self, instance: models.Model) -> bytes:
        meta = self.model._meta
        row = getattr(instance, self.row_id_field)
        return f"{meta.app_label}.{meta.model_name}.{self.name}:{row}".encode()

    def open(self, instance: models.Model, sealed: str) -> str:
        try:
            return decrypt(sealed, aad=self.associated_data(instance))
        except DecryptionError as exc:
            decryption_failed.send(
                sender=self.model,
                field=self.name,
                uid=str(getattr(instance, self.row_id_field, "")),
                reason=str(exc),
            )
            return Undecryptable(str(sealed), str(exc))

    def seal(self, instance: models.Model, plaintext: str) -> Token:
        return Token(encrypt(plaintext, aad=self.associated_data(instance)))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else Sealed(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Sealed | Token):
            return value
        if isinstance(value, Undecryptable):
            return Token(value.token)
        return self.seal(model_instance, str(value))

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if value is None or isinstance(value, Sealed | Token):
            return None if value is None else str(value)
        raise TypeError(
            f"{self.model.__name__}.{self.name} is encrypted: write it through a model "
            "instance's save(), not queryset.update() or bulk_update() with plaintext"
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        value = getattr(obj, self.attname)
        return "" if value is None else str(value)


class BlindIndexField(models.CharField):
    """HMAC-SHA256 of another (encrypted) field's normalised plaintext, kept up to date on save."""

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
