"""Second factors and login sessions.

The OTP devices are built on django-otp's pieces (Device, ThrottlingMixin, TimestampMixin,
django_otp.oath.TOTP) so throttling, replay protection and ``django_otp.login`` work as in
the library, with two changes it cannot make for us: the TOTP secret is encrypted at rest,
and backup codes are stored as keyed hashes instead of StaticToken's plaintext.
"""

from __future__ import annotations

import secrets
import time
from base64 import b32encode
from binascii import Error as BinasciiError
from binascii import unhexlify
from typing import Any
from urllib.parse import quote, urlencode
from uuid import uuid4

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from ticketsystem.cipher import blind_index
from ticketsystem.crypto import EncryptedTextField, Undecryptable

TOTP_KEY_BYTES = 20
BACKUP_CODE_COUNT = 10
BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
BACKUP_CODE_LENGTH = 10  # about 49 bits of entropy


class VerifyResult:
    """Why a verification failed, for the audit log (never the code itself)."""

    OK = "ok"
    WRONG = "wrong"
    REPLAYED = "replayed"
    THROTTLED = "throttled"


def _throttle_factor() -> int:
    return settings.OTP_THROTTLE_FACTOR


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (RFC 6238, SHA-1, 6 digits, 30 s), secret encrypted at rest.

    ``last_t`` is the time step of the last accepted code: only later steps verify, so a
    code works once (django-otp's replay protection).
    """

    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    key = EncryptedTextField(help_text="Hex-encoded secret, encrypted.")
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="Time steps before or after now that are accepted."
    )
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    last_result: str = VerifyResult.OK

    @staticmethod
    def new_key() -> str:
        return secrets.token_hex(TOTP_KEY_BYTES)

    @property
    def bin_key(self) -> bytes:
        if isinstance(self.key, Undecryptable):
            raise ValueError("the TOTP secret cannot be decrypted")
        return unhexlify(self.key.encode())

    @property
    def base32_key(self) -> str:
        return b32encode(self.bin_key).decode().rstrip("=")

    def _totp(self, now: float) -> TOTP:
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = now
        return totp

    def verify_token(self, token: Any) -> bool:
        """Accept a code once; count failures for django-otp's exponential backoff."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            self.last_result = VerifyResult.THROTTLED
            return False
        now = time.time()
        try:
            code = int(str(token).strip())
            totp = self._totp(now)
        except (ValueError, TypeError, BinasciiError):
            verified, totp, code = False, None, None
        else:
            verified = totp.verify(code, self.tolerance, self.last_t + 1)
        if verified:
            self.last_t = totp.t()
            if settings.OTP_TOTP_SYNC:
                self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            self.last_result = VerifyResult.OK
            return True
        replayed = totp is not None and self._totp(now).verify(code, self.tolerance)
        # Matching only at an already used time step means the code was accepted before.
        self.last_result = VerifyResult.REPLAYED if replayed else VerifyResult.WRONG
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self) -> int:
        return _throttle_factor()

    def config_url(self) -> str:
        """The otpauth:// URI an authenticator app reads from the QR code."""
        issuer = settings.OTP_ISSUER.replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = urlencode(
            {
                "secret": self.base32_key,
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"


def normalise_backup_code(raw: str) -> str:
    return "".join(ch for ch in str(raw).lower() if ch.isalnum())


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """One per user: the set of single-use backup codes (see BackupCode)."""

    uid = models.UUIDField(default=uuid4, unique=True, editable=False)

    class Meta(Device.Meta):
        verbose_name = "backup code set"

    last_result: str = VerifyResult.OK

    def digest(self, code: str) -> str:
        """Keyed hash (HMAC-SHA256, BLIND_INDEX_KEY) of a code, bound to this device."""
        return blind_index(normalise_backup_code(code), purpose=f"accounts.backupcode:{self.uid}")

    @staticmethod
    def new_code() -> str:
        raw = "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
        return f"{raw[:5]}-{raw[5:]}"

    def replace_codes(self) -> list[str]:
        """Drop every code and make BACKUP_CODE_COUNT new ones; return them in plaintext."""
        codes: list[str] = []
        while len(codes) < BACKUP_CODE_COUNT:
            code = self.new_code()
            if code not in codes:
                codes.append(code)
        self.codes.all().delete()
        BackupCode.objects.bulk_create(
            BackupCode(device=self, digest=self.digest(code)) for code in codes
        )
        return codes

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            self.last_result = VerifyResult.THROTTLED
            return False
        normalised = normalise_backup_code(token or "")
        match = None
        if len(normalised) == BACKUP_CODE_LENGTH:
            match = self.codes.select_for_update().filter(digest=self.digest(normalised)).first()
        if match is not None and match.used_at is None:
            match.used_at = timezone.now()
            match.save(update_fields=["used_at"])
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            self.last_result = VerifyResult.OK
            return True
        self.last_result = VerifyResult.REPLAYED if match is not None else VerifyResult.WRONG
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self) -> int:
        return _throttle_factor()


class BackupCode(models.Model):
    """A backup code's keyed hash; ``used_at`` is set when it is spent (codes work once)."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="backupcode_unique_digest")
        ]

    def __str__(self) -> str:
        return f"backup code {self.pk} ({'used' if self.used_at else 'unused'})"


class UserSession(AbstractBaseSession):
    """Django's database session plus columns copied from the session data on every save,
    so a user's sessions can be listed and revoked (deleting the row ends the session).

    ``sid`` is a random handle shown to the user instead of the session key.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="login_sessions",
    )
    sid = models.CharField(max_length=32, blank=True, db_index=True)
    signed_in_at = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta(AbstractBaseSession.Meta):
        verbose_name = "login session"
        indexes = [models.Index(fields=["user", "expire_date"], name="usersession_user_expiry")]

    @classmethod
    def get_session_store_class(cls) -> type:
        from accounts.session_store import SessionStore

        return SessionStore


class LoginFailureMinute(models.Model):
    """Failed password checks for one username in one minute, from any address: the
    per-username limit (accounts/lockout.py) sums the last hour. Older rows are deleted."""

    username = models.CharField(max_length=150)
    minute = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["username", "minute"], name="accounts_loginfailure_username_minute"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="accounts_loginfailure_minute")]

    def __str__(self) -> str:
        return f"{self.failures} failed login(s) at {self.minute:%Y-%m-%d %H:%M}"


class UserPreference(models.Model):
    """A user's language and time zone (empty: the browser's language, settings.TIME_ZONE)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
