"""A description's ciphertext is bound to its TicketBody row's uid: make it immutable too
(ticketsystem/rowidentity.py)."""

from django.db import migrations

from ticketsystem.rowidentity import uid_immutable


class Migration(migrations.Migration):
    dependencies = [("tickets", "0015_ticketbody")]

    operations = [uid_immutable("tickets_ticketbody")]
