"""manage.py exportperson: everything about a contact, decrypted, in a new 0600 file."""

from __future__ import annotations

import base64
import json
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import SecurityEvent
from tests.helpers import PDF


def export(*args: str) -> str:
    out = StringIO()
    call_command("exportperson", *args, stdout=out)
    return out.getvalue()


def test_it_writes_everything_held_about_the_contact(person, tmp_path):
    contact, first, second = person
    target = tmp_path / "out" / "erin.json"
    output = export("--email", "erin@example.org", "--output", str(target))
    assert f"exported contact #{contact.pk} to {target}" in output and "mode 0600" in output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = json.loads(target.read_text())
    assert data["format"] == "ticketsystem-person-export/1"
    [person_data] = data["contacts"]
    assert (person_data["name"], person_data["email"], person_data["phone"]) == (
        "Erin Example",
        "Erin@Example.org",
        "+44 20 7946 0000",
    )
    tickets = {t["reference"]: t for t in person_data["tickets"]}
    assert set(tickets) == {first.reference, second.reference}
    assert tickets[first.reference]["description"] == "Serial ABC, home address 1 Main St"
    assert [c["body"] for c in tickets[first.reference]["comments"]] == [
        "Erin called at 9",
        "Internal: VIP",
    ]
    assert tickets[first.reference]["comments"][1]["internal"] is True
    [file_data] = tickets[first.reference]["attachments"]
    assert file_data["filename"] == "erin-id.pdf"
    assert base64.b64decode(file_data["content_base64"]) == PDF


def test_the_default_file_goes_to_the_export_directory(person, settings, tmp_path):
    settings.GDPR_EXPORT_DIR = tmp_path / "exports"
    output = export("--contact-id", str(person[0].pk), "--no-files")
    [written] = list((tmp_path / "exports").iterdir())
    assert str(written) in output
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "exports").stat().st_mode) == 0o700
    data = json.loads(written.read_text())
    assert "content_base64" not in data["contacts"][0]["tickets"][0]["attachments"][0]


def test_the_export_is_audited_without_personal_data(person, tmp_path):
    export("--email", "erin@example.org", "--output", str(tmp_path / "e.json"))
    event = SecurityEvent.objects.get(action="exported")
    assert event.resource == f"contact:{person[0].pk}"
    assert event.details == {"tickets": 2, "files": True}
    assert event.actor_username.startswith("cli")
    assert "Erin" not in str(event.details) + event.resource


def test_it_never_overwrites_an_existing_file(person, tmp_path):
    target = tmp_path / "e.json"
    target.write_text("keep me")
    with pytest.raises(CommandError, match="already exists"):
        export("--email", "erin@example.org", "--output", str(target))
    assert target.read_text() == "keep me"
    assert not SecurityEvent.objects.filter(action="exported").exists()


def test_an_unwritable_place_is_a_one_line_error(person, tmp_path):
    with pytest.raises(CommandError, match="cannot write"):
        export("--email", "erin@example.org", "--output", "/proc/nope/e.json")
    assert not SecurityEvent.objects.filter(action="exported").exists()


def test_unknown_people_are_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="no contact holds this email address"):
        export("--email", "nobody@example.org", "--output", str(tmp_path / "x.json"))
    with pytest.raises(CommandError, match="no contact with id 999"):
        export("--contact-id", "999", "--output", str(tmp_path / "x.json"))


def test_it_needs_exactly_one_way_to_name_the_person(db):
    with pytest.raises(CommandError):
        export()
    with pytest.raises(CommandError):
        export("--email", "a@b.c", "--contact-id", "1")
