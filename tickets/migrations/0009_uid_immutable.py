"""Encrypted values are bound to their row's uid: make it immutable (ticketsystem/rowidentity.py)."""

from django.db import migrations

from ticketsystem.rowidentity import uid_immutable


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_search_token")]

    operations = [
        uid_immutable(
            "tickets_contact",
            "tickets_ticket",
            "tickets_comment",
            "tickets_attachment",
            "tickets_outboundmail",
            "tickets_inboundmessage",
            "tickets_queuemailbox",
        )
    ]
