"""Shared fixtures: two queues, an agent of each, a manager, an admin and an outsider; the
test lanes (markers by path), required programs, and a fast password hasher."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from tests.binaries import require_binary
from tickets import services
from tickets.models import Priority, Queue, Ticket

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


def make_user(username: str, role: str | None = None, **extra: Any) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create(
        username=username,
        email=f"{username}@example.org",
        is_staff=role in ("manager", "admin"),
        is_superuser=role == "admin",
        **extra,
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def login(client: Client, user: Any) -> Client:
    """Log a user in fully, leaving the session exactly as the two-step login does: logged
    in, verified by a confirmed authenticator (django-otp's session key) and stamped for the
    session timeouts and the sessions page. Gives the user an authenticator if needed."""
    from accounts import preferences, session_policy
    from accounts.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=True, key=TOTPDevice.new_key()
        )
    client.force_login(user)
    session = client.session
    session_policy.stamp_verified(session, device=device, ip="127.0.0.1", user_agent="")
    session[preferences.SESSION_KEY] = preferences.session_value(user)
    session.save()
    return client


@pytest.fixture
def queue_a(db: Any) -> Queue:
    return Queue.objects.create(name="Alpha support", slug="alpha")


@pytest.fixture
def queue_b(db: Any) -> Queue:
    return Queue.objects.create(name="Beta billing", slug="beta")


@pytest.fixture
def agent(queue_a: Queue) -> Any:
    user = make_user("alice", "agent")
    queue_a.members.add(user)
    return user


@pytest.fixture
def agent_b(queue_b: Queue) -> Any:
    user = make_user("bob", "agent")
    queue_b.members.add(user)
    return user


@pytest.fixture
def manager(db: Any) -> Any:
    return make_user("maria", "manager")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return make_user("root", "admin")


@pytest.fixture
def outsider(db: Any) -> Any:
    return make_user("olga")


@pytest.fixture
def agent_client(client: Client, agent: Any) -> Client:
    return login(client, agent)


@pytest.fixture
def manager_client(client: Client, manager: Any) -> Client:
    return login(client, manager)


@pytest.fixture
def ticket_a(agent: Any, queue_a: Queue) -> Ticket:
    return services.ticket_create(
        actor=agent, queue=queue_a, subject="Printer on fire", description="It smells of toner."
    )


@pytest.fixture
def ticket_b(agent_b: Any, queue_b: Queue) -> Ticket:
    return services.ticket_create(
        actor=agent_b,
        queue=queue_b,
        subject="Invoice wrong",
        description="Charged twice.",
        priority=Priority.HIGH,
    )


# --- Lanes, binaries, password hashing ---------------------------------------------------
# Markers are given here, by test id (fnmatch; a path alone covers the whole file), so test
# files need not carry them: `make test-fast` runs -m "not slow and not browser".
# real_hasher: the production password hashers instead of the fast one (see below).
MARKS: dict[str, tuple[str, ...]] = {
    # Daphne in a subprocess checks passwords set here, with the production hashers.
    "tests/browser/*": ("browser", "real_hasher"),
    "tests/accounts/test_login_view.py::test_it_rejects_an_overlong_password_*": ("real_hasher",),
    "tests/test_bad_input_sweep.py*": ("slow",),
    "tests/test_command_bad_input_sweep.py*": ("slow",),
    "tests/ops/test_*backup*": ("slow",),
    "tests/ops/test_fail2ban_filter.py*": ("slow",),
    "tests/audit/test_security_log.py::test_fail2ban_*": ("slow",),
    "tests/ops/test_securitycheck_command.py*": ("slow",),  # makes a backup
    "tests/ops/test_deploy_files.py::test_the_app_role_*": ("slow",),  # backs up and restores
    "tests/live/test_two_processes.py*": ("slow",),  # two daphne processes
    "tests/ticketsystem/test_serve.py::test_the_access_log_*": ("slow",),  # a daphne process
    "tests/live/test_channel_layer_outage.py*": ("slow",),  # stops and restarts Redis
    "tests/live/test_socket_limits.py::test_a_concurrent_flood_*": ("slow",),
    "tests/ops/test_request_bodies.py*": ("slow",),  # real gunicorn and daphne, slow uploads
    "tests/ops/test_metrics_across_workers.py*": ("slow",),  # a gunicorn with two workers
    "tests/mail/test_fetchmail.py*": ("slow",),  # a dovecot per test (1.3 s to stop)
    "tests/mail/test_servers.py*": ("slow",),  # the same, proving the servers work
    "tests/tickets/test_list_plans.py*": ("slow",),  # 100 000 tickets, EXPLAIN (~45 s)
}
# System programs by test id; the test fails naming the Debian package when one is missing
# (tests/binaries.py). A test can also carry @pytest.mark.needs_binary("name", ...).
NEEDS: dict[str, tuple[str, ...]] = {
    "tests/browser/*": ("chromium",),
    "tests/browser/*production*": ("nginx",),  # the production layout (tests/live/layouts.py)
    "tests/ops/test_backup_command.py*": ("pg_dump",),
    "tests/ops/test_restorebackup_command.py*": ("pg_dump", "pg_restore", "psql"),
    "tests/ops/test_verifybackup_command.py*": ("pg_dump", "pg_restore", "psql"),
    "tests/ops/test_deploy_files.py::test_the_app_role_*": ("pg_dump", "pg_restore", "psql"),
    "tests/crypto/test_pg_dump.py*": ("pg_dump",),
    "tests/ops/test_fail2ban_filter.py::test_it_matches_*": ("fail2ban-regex",),
    "tests/audit/test_security_log.py::test_fail2ban_*": ("fail2ban-regex",),
}
# Fixtures that run a program themselves.
FIXTURE_NEEDS: dict[str, tuple[str, ...]] = {
    "gpg_keys": ("gpg", "gpgconf"),
    "redis_server": ("redis-server",),  # tests/redisserver.py: a Redis of the test's own
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for pattern, marks in MARKS.items():
            if fnmatch(item.nodeid, pattern):
                for mark in marks:
                    item.add_marker(mark)
        needed = [n for p, names in NEEDS.items() if fnmatch(item.nodeid, p) for n in names]
        for fixture, names in FIXTURE_NEEDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                needed.extend(names)
        if needed:
            item.add_marker(pytest.mark.needs_binary(*dict.fromkeys(needed)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs_binary"):
        for name in mark.args:
            require_binary(name)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher() -> Iterator[list[str]]:
    """MD5 for the passwords tests set (Argon2 costs ~50 ms a hash); the production hashers
    stay in the list, so a hash made by a subprocess still verifies. Returns those."""
    from django.conf import settings

    production = list(settings.PASSWORD_HASHERS)
    with override_settings(PASSWORD_HASHERS=[FAST_HASHER, *production]):
        yield production


@pytest.fixture(autouse=True)
def _real_hasher_when_marked(
    request: pytest.FixtureRequest, fast_password_hasher: list[str]
) -> Iterator[None]:
    if request.node.get_closest_marker("real_hasher") is None:
        yield
        return
    with override_settings(PASSWORD_HASHERS=fast_password_hasher):
        yield


@pytest.fixture(autouse=True)
def _default_language_after_each_test() -> Iterator[None]:
    """A request for a German user activates German in this thread (LocaleMiddleware), as
    every request does for its own user; the next test starts in the default language."""
    yield
    from django.utils import translation

    translation.deactivate()
