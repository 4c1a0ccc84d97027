"""AES-256-GCM values under a keyring, and HMAC blind indexes: the primitives under the fields.

A stored text value looks like ``$v1$<key id>$<base64url(nonce | ciphertext | tag)>``; a
stored binary value is ``b"$v1$<key id>$" + nonce + ciphertext + tag``. The format version
and key id travel with every value so keys can be rotated row by row (``manage.py
rotatekeys``). The caller's associated data binds a value to where it is stored (the model
fields in ``ticketsystem/crypto.py`` use ``app_label.model.field`` and the row's uid), so a
ciphertext moved elsewhere fails to decrypt: a wrong key, a flipped bit, a swapped value or
an unknown key id raise DecryptionError.
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
from django.core.signals import setting_changed
from django.dispatch import receiver

FORMAT_VERSION = "v1"
_TOKEN_RE = re.compile(
    r"^\$(?P<version>v\d{1,3})\$(?P<kid>[A-Za-z0-9_-]{1,32})\$(?P<body>[A-Za-z0-9_-]+={0,2})$"
)
_BINARY_HEAD_RE = re.compile(rb"^\$(?P<version>v\d{1,3})\$(?P<kid>[A-Za-z0-9_-]{1,32})\$")
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12
TAG_BYTES = 16


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


@receiver(setting_changed, dispatch_uid="ticketsystem.cipher.reset_keys")
def _reset_key_caches(*, setting: str, **kwargs: Any) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"}:
        get_keyring.cache_clear()
        _blind_index_key.cache_clear()


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
