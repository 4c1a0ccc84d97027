"""A real IMAP server for tests: Debian's dovecot in a temporary directory on a free port.

It serves IMAPS (TLS, with a throwaway self-signed certificate made with ``cryptography``)
and, for tests of the explicitly allowed plaintext mode, plain IMAP; one passwd-file user,
maildir under the temporary directory. The ``dovecot`` fixture starts it in the foreground
and stops it on teardown.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tlscert import write_self_signed_cert

DOVECOT = "/usr/sbin/dovecot"
USER = "helpdesk@example.test"
PASSWORD = "imap-test-password"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
instance_name = test-{port}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
ssl = yes
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
"""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int  # IMAPS
    plain_port: int  # plain IMAP, for the explicitly allowed plaintext mode
    user: str
    password: str
    cert_path: Path
    base: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this server's certificate (hostname checked)."""
        return ssl.create_default_context(cafile=str(self.cert_path))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accounts() -> tuple[int, int, str, str]:
    """uid, gid, internal user, login user: nobody and Debian's dovecot users as root."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, "dovecot", "dovenull"
    me = pwd.getpwuid(os.geteuid())
    return me.pw_uid, me.pw_gid, me.pw_name, me.pw_name


def _wait_until_serving(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not start listening within 15 s")


def start_dovecot(base: Path) -> tuple[ImapServer, subprocess.Popen]:
    uid, gid, internal_user, login_user = _accounts()
    port, plain_port = free_port(), free_port()
    base.chmod(0o755)  # the mail process runs as an unprivileged user
    for sub in ("run", "state", "mail", "home"):
        (base / sub).mkdir()
    for sub in ("mail", "home"):
        os.chown(base / sub, uid, gid)
    write_self_signed_cert(base / "cert.pem", base / "key.pem")
    (base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:::::\n")
    config = base / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            base=base,
            port=port,
            plain_port=plain_port,
            uid=uid,
            gid=gid,
            internal_user=internal_user,
            login_user=login_user,
        )
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(port, process, base / "dovecot.log")
    except BaseException:
        stop_dovecot(process)
        raise
    server = ImapServer("127.0.0.1", port, plain_port, USER, PASSWORD, base / "cert.pem", base)
    return server, process


def stop_dovecot(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def dovecot() -> Iterator[ImapServer]:
    """A running dovecot with one empty mailbox; stopped and removed after the test."""
    if not os.path.exists(DOVECOT):
        pytest.fail(f"{DOVECOT} is missing: apt-get install dovecot-imapd (.ci/run does)")
    base = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    try:
        server, process = start_dovecot(base)
        try:
            yield server
        finally:
            stop_dovecot(process)
    finally:
        shutil.rmtree(base, ignore_errors=True)
