"""Encrypted values are bound to their row's uid: make it immutable (ticketsystem/rowidentity.py)."""

from django.db import migrations

from ticketsystem.rowidentity import uid_immutable


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_mail_out")]

    operations = [
        uid_immutable(
            "tickets_contact",
            "tickets_ticket",
            "tickets_comment",
            "tickets_attachment",
            "tickets_outboundmail",
        )
    ]
