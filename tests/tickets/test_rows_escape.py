"""The rows drawn in Python (tickets/templatetags/ticket_rows.py) escape what people wrote:
a subject, a requester's name and a staff member's name with markup in them show as text
on the list, the dashboard's panels and its history lines."""

from __future__ import annotations

import pytest

from tests.conftest import make_user
from tickets import services

pytestmark = pytest.mark.django_db

SUBJECT = '<img src=x onerror="alert(1)"> & co'
NAME = "<b>Ada</b>"


def test_markup_in_a_subject_or_a_name_is_shown_as_text(agent_client, agent, queue_a):
    colleague = make_user("eve", "agent", first_name="<i>Eve</i>")
    queue_a.members.add(colleague)
    contact = services.contact_get_or_create(actor=agent, email="ada@example.com", name=NAME)
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject=SUBJECT, contact=contact)
    services.ticket_assign(actor=agent, ticket=ticket, assignee=colleague)
    for url in ("/tickets/", "/dashboard/"):
        page = agent_client.get(url).content.decode()
        assert "<img src=x" not in page and "<b>Ada" not in page and "<i>Eve" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in page, url
    listing = agent_client.get("/tickets/").content.decode()
    assert "&lt;b&gt;Ada&lt;/b&gt;" in listing and "&lt;i&gt;Eve&lt;/i&gt;" in listing
