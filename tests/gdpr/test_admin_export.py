"""The admin site's "Export personal data" action for managers, audited."""

from __future__ import annotations

import json

from audit.models import SecurityEvent
from tests.conftest import login


def test_a_manager_downloads_the_selected_contacts_data(client, manager, person):
    contact = person[0]
    response = login(client, manager).post(
        "/admin/tickets/contact/",
        {"action": "export_personal_data", "_selected_action": [contact.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["contacts"][0]["email"] == "Erin@Example.org"
    event = SecurityEvent.objects.get(action="exported")
    assert (event.actor, event.resource) == (manager, f"contact:{contact.pk}")
