"""Helpers for backup tests: read sets, damage files, rewrite manifests."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.ops.conftest import GpgKeys


def only_set(directory: Path) -> str:
    manifests = sorted(directory.glob("*.manifest.json"))
    assert len(manifests) == 1, manifests
    return manifests[0].name.removesuffix(".manifest.json")


def read_manifest(directory: Path, base: str) -> dict[str, Any]:
    return json.loads((directory / f"{base}.manifest.json").read_text())


def write_manifest(directory: Path, base: str, manifest: dict[str, Any]) -> None:
    (directory / f"{base}.manifest.json").write_text(json.dumps(manifest))


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def reseal_manifest(directory: Path, base: str, part: str = "db.gpg") -> None:
    """Make the manifest agree with a damaged file, so only gpg/restore can catch it."""
    manifest = read_manifest(directory, base)
    data = (directory / f"{base}.{part}").read_bytes()
    manifest["files"][part] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    write_manifest(directory, base, manifest)


def copy_set(directory: Path, base: str, new_base: str) -> None:
    """Clone a set under another time stamp (as if written then)."""
    for path in directory.glob(f"{base}.*"):
        shutil.copy(path, directory / path.name.replace(base, new_base))
    manifest = read_manifest(directory, new_base)
    manifest["name"] = new_base
    write_manifest(directory, new_base, manifest)


def decrypt_head(keys: GpgKeys, path: Path, tmp: Path, length: int = 5) -> bytes:
    """Decrypt a file with the test key (outside the app) and return its first bytes."""
    home = tmp / "decrypt-home"
    home.mkdir(mode=0o700)
    try:
        subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--import", str(keys.secret)],
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(home),
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase-file",
                str(keys.passphrase_file),
                "--decrypt",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        return out.stdout[:length]
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def recipients(keys: GpgKeys, path: Path) -> str:
    """gpg's view of who a file is encrypted to (status lines), without any secret key."""
    out = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(keys.home),
            "--batch",
            "--status-fd",
            "1",
            "--list-only",
            "--decrypt",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout
