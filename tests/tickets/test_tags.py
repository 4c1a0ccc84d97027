"""Tags: a managed vocabulary, set through a service with a history line, filtered by."""

from __future__ import annotations

import pytest

from tickets import services
from tickets.models import Activity
from tickets.organising_models import Tag

pytestmark = pytest.mark.django_db


def test_setting_tags_writes_one_history_line(agent, ticket_a):
    vip, billing = (
        Tag.objects.create(name="VIP", slug="vip"),
        Tag.objects.create(name="Billing", slug="billing"),
    )
    services.ticket_set_tags(actor=agent, ticket=ticket_a, tags=[vip])
    services.ticket_set_tags(actor=agent, ticket=ticket_a, tags=[vip, billing])
    services.ticket_set_tags(actor=agent, ticket=ticket_a, tags=[vip, billing])  # no change
    lines = list(Activity.objects.filter(verb="tagged").order_by("id"))
    assert [(a.old_value, a.new_value) for a in lines] == [("", "VIP"), ("VIP", "Billing, VIP")]
    assert set(ticket_a.tags.values_list("slug", flat=True)) == {"vip", "billing"}


def test_the_list_filters_by_tag(agent_client, agent, ticket_a, queue_a):
    other = services.ticket_create(actor=agent, queue=queue_a, subject="Untagged")
    tag = Tag.objects.create(name="VIP", slug="vip")
    services.ticket_add_tag(actor=agent, ticket=ticket_a, tag=tag)
    page = agent_client.get("/tickets/", {"tag": "vip"}).context["page"]
    assert [t.pk for t in page.object_list] == [ticket_a.pk]
    assert other.pk not in [t.pk for t in page.object_list]
    assert agent_client.get("/tickets/", {"tag": "nope"}).status_code == 400


def test_managers_keep_the_vocabulary_on_the_admin_site(manager_client):
    response = manager_client.post("/admin/tickets/tag/add/", {"name": "Hardware", "slug": "hw"})
    assert response.status_code == 302
    assert Tag.objects.filter(slug="hw").exists()
