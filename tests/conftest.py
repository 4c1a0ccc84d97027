"""Shared fixtures: two queues, an agent of each, a manager, an admin and an outsider."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tickets import services
from tickets.models import Priority, Queue, Ticket


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
    from accounts import session_policy
    from accounts.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=True, key=TOTPDevice.new_key()
        )
    client.force_login(user)
    session = client.session
    session_policy.stamp_verified(session, device=device, ip="127.0.0.1", user_agent="")
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
