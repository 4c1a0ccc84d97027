"""GnuPG for backups, through python-gnupg, in a throwaway keyring per run.

Each command imports the configured keys into a fresh GNUPGHOME (mode 0700) and removes it
afterwards (its gpg-agent stopped), so no state lingers between runs; a run killed before it
could clean up (SIGKILL, power loss) is swept by the next one (``sweep_stale_keyrings``): the recipients are exactly the keys in
BACKUP_GPG_PUBLIC_KEY_FILE (optionally pinned by fingerprint), a cached passphrase never
outlives the command, and a key that stops importing is noticed at once. Data is streamed
through gpg in chunks; it is never held whole in memory or written to disk in plain.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import gnupg
from django.conf import settings

CHUNK = 1 << 20
# Never reach out to key servers or directories while encrypting or decrypting.
GPG_OPTIONS = ["--no-auto-key-retrieve", "--no-auto-key-locate", "--no-random-seed-file"]


class BackupError(Exception):
    """A backup, verify or restore step failed; the message is one line for cron."""


def one_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of tool output, shortened: what a cron mail should show."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("[GNUPG:]"):
            return line[:limit]
    return ""


def describe(exc: BaseException) -> str:
    """An OSError as its plain reason ("No space left on device"), anything else as text."""
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


@dataclass(frozen=True)
class KeyInfo:
    fingerprint: str
    algorithm: str
    length: int
    uids: tuple[str, ...]
    expires: datetime | None
    can_encrypt: bool
    secret: bool = False

    @property
    def description(self) -> str:
        algo = {
            "1": "RSA",
            "16": "ElGamal",
            "17": "DSA",
            "18": "ECDH",
            "19": "ECDSA",
            "22": "EdDSA",
        }
        name = algo.get(self.algorithm, f"algo {self.algorithm}")
        size = f" {self.length}" if name in {"RSA", "DSA", "ElGamal"} else ""
        until = f", expires {self.expires:%Y-%m-%d}" if self.expires else ""
        return f"{self.fingerprint} ({name}{size}{until})"


@dataclass
class Keyring:
    """A python-gnupg handle on a throwaway GNUPGHOME."""

    gpg: gnupg.GPG
    home: Path
    recipients: list[KeyInfo] = field(default_factory=list)
    secret_keys: list[KeyInfo] = field(default_factory=list)


KEYRING_PREFIX = "ts-gnupg-"
OWNER_FILE = "ts-owner"  # "<pid> <process start time>" of the run that made the keyring
# A keyring without an owner file is only that young while mkdtemp and the owner write run.
UNOWNED_GRACE_SECONDS = 60


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks (/proc), so a reused pid is not mistaken."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _owner_alive(home: Path) -> bool:
    try:
        pid_text, _, started = (home / OWNER_FILE).read_text().partition(" ")
        pid = int(pid_text)
    except FileNotFoundError:
        try:
            age = datetime.now(UTC).timestamp() - home.stat().st_mtime
        except OSError:
            return True
        return age < UNOWNED_GRACE_SECONDS
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return not started.strip() or _start_time(pid) == started.strip()


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent (and any other gpg daemon) serving ``home``: it caches the key."""
    subprocess.run(  # noqa: S603
        ["gpgconf", "--homedir", str(home), "--kill", "all"],  # noqa: S607
        capture_output=True,
        check=False,
        timeout=30,
    )


def sweep_stale_keyrings(parent: Path | None = None) -> list[Path]:
    """Stop the agent of and remove every keyring a dead run left behind; the removed paths."""
    parent = parent or Path(tempfile.gettempdir())
    removed = []
    for home in sorted(parent.glob(f"{KEYRING_PREFIX}*")):
        try:
            ours = home.is_dir() and not home.is_symlink() and home.stat().st_uid == os.getuid()
        except OSError:
            continue
        if not ours or _owner_alive(home):
            continue
        stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)
        removed.append(home)
    return removed


@contextlib.contextmanager
def keyring() -> Iterator[Keyring]:
    """A fresh, empty GNUPGHOME for one command; its agent is stopped and it is removed after."""
    sweep_stale_keyrings()
    home = Path(tempfile.mkdtemp(prefix=KEYRING_PREFIX))
    try:
        (home / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}")
        try:
            gpg = gnupg.GPG(gnupghome=str(home), options=list(GPG_OPTIONS))
        except (OSError, ValueError) as exc:
            raise BackupError(f"gpg cannot run: {one_line(str(exc))}") from None
        gpg.buffer_size = CHUNK
        yield Keyring(gpg=gpg, home=home)
    finally:
        stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)


def _import_key_file(ring: Keyring, setting: str, *, unset: str) -> Any:
    """Import the keys in the file a setting names; ``unset`` is the error when it names none."""
    path = getattr(settings, setting)
    if not path:
        raise BackupError(unset)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BackupError(f"{setting}={path} cannot be read: {exc.strerror}") from None
    return ring.gpg.import_keys(data)


def _key_info(raw: dict[str, Any], *, secret: bool = False) -> KeyInfo:
    expires = raw.get("expires") or ""
    subkeys = raw.get("subkey_info", {}).values()
    return KeyInfo(
        fingerprint=raw["fingerprint"].upper(),
        algorithm=str(raw.get("algo", "")),
        length=int(raw.get("length") or 0),
        uids=tuple(raw.get("uids", [])),
        expires=datetime.fromtimestamp(int(expires), UTC) if expires else None,
        # Capital E: the key as a whole (primary or a valid subkey) can encrypt.
        can_encrypt="E" in raw.get("cap", "") or any("e" in sub.get("cap", "") for sub in subkeys),
        secret=secret,
    )


def import_recipients(ring: Keyring) -> list[KeyInfo]:
    """Import BACKUP_GPG_PUBLIC_KEY_FILE; return the keys backups will be encrypted for."""
    result = _import_key_file(
        ring,
        "BACKUP_GPG_PUBLIC_KEY_FILE",
        unset="no backup recipient key: set BACKUP_GPG_PUBLIC_KEY_FILE "
        "(refusing to write an unencrypted backup)",
    )
    if not result.count:
        raise BackupError("BACKUP_GPG_PUBLIC_KEY_FILE holds no OpenPGP public key")
    if int(getattr(result, "sec_imported", 0) or 0) or ring.gpg.list_keys(secret=True):
        raise BackupError(
            "BACKUP_GPG_PUBLIC_KEY_FILE contains a private key: give the backup host "
            "only the public key"
        )
    now = datetime.now(UTC)
    keys = [
        _key_info(raw)
        for raw in ring.gpg.list_keys()
        if raw.get("trust") not in {"r", "e", "d", "i"}  # revoked, expired, disabled, invalid
    ]
    keys = [k for k in keys if k.can_encrypt and (k.expires is None or k.expires > now)]
    if settings.BACKUP_GPG_RECIPIENTS:
        pinned = set(settings.BACKUP_GPG_RECIPIENTS)
        missing = pinned - {k.fingerprint for k in keys}
        if missing:
            raise BackupError(
                f"BACKUP_GPG_RECIPIENTS names {sorted(missing)[0]}, which is not a valid "
                "encryption key in BACKUP_GPG_PUBLIC_KEY_FILE"
            )
        keys = [k for k in keys if k.fingerprint in pinned]
    if not keys:
        raise BackupError(
            "BACKUP_GPG_PUBLIC_KEY_FILE has no usable encryption key (expired, revoked or "
            "sign-only)"
        )
    ring.recipients = keys
    return keys


def passphrase() -> str | None:
    """BACKUP_GPG_PASSPHRASE(_FILE), refused when gpg could not take it intact."""
    value = settings.BACKUP_GPG_PASSPHRASE
    if not value:
        return None
    if "\n" in value or "\r" in value:
        # gpg reads a passphrase up to the first line break (and python-gnupg refuses it).
        raise BackupError(
            "BACKUP_GPG_PASSPHRASE contains a line break, which gpg cannot take: "
            "store the passphrase on a single line"
        )
    return value


def import_private_key(ring: Keyring) -> list[KeyInfo]:
    """Import BACKUP_GPG_PRIVATE_KEY_FILE for decryption (verify and restore only)."""
    result = _import_key_file(
        ring,
        "BACKUP_GPG_PRIVATE_KEY_FILE",
        unset="no private key to decrypt with: set BACKUP_GPG_PRIVATE_KEY_FILE (and "
        "BACKUP_GPG_PASSPHRASE_FILE if the key has a passphrase)",
    )
    keys = [_key_info(raw, secret=True) for raw in ring.gpg.list_keys(secret=True)]
    if not result.count or not keys:
        raise BackupError("BACKUP_GPG_PRIVATE_KEY_FILE holds no OpenPGP private key")
    ring.secret_keys = keys
    return keys


class HashingReader:
    """A read-only file wrapper that hashes and counts what passes through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


class BytesReader:
    """A file-like view of a bytes object that hands out chunks without copying the whole."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else min(len(self._view), self._pos + size)
        chunk = bytes(self._view[self._pos : end])
        self._pos = end
        return chunk


class Sink:
    """Receives gpg's output chunk by chunk and remembers the first failure.

    python-gnupg keeps reading after a callback raises and then buffers the rest in memory,
    so the callback never raises: it records the error and drops further data.
    """

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write
        self.error: BaseException | None = None
        self.size = 0

    def __call__(self, chunk: bytes) -> bool:
        if chunk and self.error is None:
            try:
                self._write(chunk)
                self.size += len(chunk)
            except (OSError, ValueError) as exc:
                self.error = exc
        return False  # never let python-gnupg keep a copy


def _status_lines(stderr: str) -> set[str]:
    return {
        line.split()[1]
        for line in stderr.splitlines()
        if line.startswith("[GNUPG:] ") and len(line.split()) > 1
    }


def encrypt_stream(ring: Keyring, source: IO[bytes], sink: Sink, *, compress: bool) -> None:
    """Encrypt everything read from ``source`` for the recipients, into ``sink``."""
    extra = ["--cipher-algo", "AES256"]
    # Already-compressed input (pg_dump's custom format) gains nothing from a second pass.
    extra += ["--compress-algo", "zlib" if compress else "none"]
    ring.gpg.on_data = sink
    try:
        result = ring.gpg.encrypt_file(
            source,
            [key.fingerprint for key in ring.recipients],
            armor=False,
            always_trust=True,
            extra_args=extra,
        )
    finally:
        ring.gpg.on_data = None
    if sink.error is not None:
        raise BackupError(f"cannot write the encrypted backup: {describe(sink.error)}")
    if not result.ok or "END_ENCRYPTION" not in _status_lines(result.stderr):
        reason = one_line(result.stderr) or result.status or "unknown error"
        raise BackupError(f"gpg could not encrypt: {reason}")


GPG_ERR_BAD_PASSPHRASE = 11
GPG_ERR_NO_PASSPHRASE = 177


def _error_codes(stderr: str, what: str) -> set[int]:
    """libgpg-error codes (without the source bits) from ``[GNUPG:] ERROR <what> <code>``."""
    codes = set()
    for line in stderr.splitlines():
        parts = line.split()
        if parts[:3] == ["[GNUPG:]", "ERROR", what] and len(parts) > 3 and parts[3].isdigit():
            codes.add(int(parts[3]) & 0xFFFF)
    return codes


def decrypt_stream(ring: Keyring, source: IO[bytes], sink: Sink, *, secret: str | None) -> None:
    """Decrypt ``source`` into ``sink``; any integrity or key problem is a BackupError."""
    # Without a passphrase, hand gpg an empty one: gpg must never read one from the data pipe
    # or wait for a pinentry; a protected key then fails with "no passphrase".
    extra = [] if secret else ["--pinentry-mode", "loopback", "--passphrase", ""]
    ring.gpg.on_data = sink
    try:
        result = ring.gpg.decrypt_file(
            source, passphrase=secret, always_trust=True, extra_args=extra
        )
    except ValueError:  # python-gnupg refuses passphrases it cannot pass safely
        raise BackupError("the passphrase cannot be passed to gpg (line break)") from None
    finally:
        ring.gpg.on_data = None
    statuses = _status_lines(result.stderr)
    key_errors = _error_codes(result.stderr, "pkdecrypt_failed")
    if "NO_SECKEY" in statuses and "DECRYPTION_OKAY" not in statuses and not key_errors:
        raise BackupError(
            "cannot decrypt: the backup was not encrypted for the key in "
            "BACKUP_GPG_PRIVATE_KEY_FILE (wrong key)"
        )
    if GPG_ERR_BAD_PASSPHRASE in key_errors or "BAD_PASSPHRASE" in statuses:
        raise BackupError(
            "cannot decrypt: wrong passphrase for the backup key (BACKUP_GPG_PASSPHRASE_FILE)"
        )
    if GPG_ERR_NO_PASSPHRASE in key_errors or "MISSING_PASSPHRASE" in statuses:
        raise BackupError(
            "cannot decrypt: the backup key needs a passphrase (set BACKUP_GPG_PASSPHRASE_FILE)"
        )
    if key_errors:
        raise BackupError(f"cannot decrypt with the backup key (gpg error {min(key_errors)})")
    if "BADMDC" in statuses or ("DECRYPTION_FAILED" in statuses and "BEGIN_DECRYPTION" in statuses):
        raise BackupError("cannot decrypt: the file is damaged or was modified")
    if not result.ok or "DECRYPTION_OKAY" not in statuses:
        reason = one_line(result.stderr) or result.status or "unknown error"
        raise BackupError(f"cannot decrypt: {reason}")
    if "GOODMDC" not in statuses:
        raise BackupError("cannot decrypt: the file has no integrity protection (MDC)")
    if sink.error is not None:
        raise BackupError(f"cannot process the decrypted data: {describe(sink.error)}")
