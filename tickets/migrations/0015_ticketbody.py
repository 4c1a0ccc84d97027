"""Move Ticket.description into TicketBody (its own table), re-encrypted for its new place.

The ciphertext's associated data names the model, so each description is decrypted and
sealed again. A description that cannot be decrypted (a missing key) stops the migration:
nothing is dropped silently; restore the key (FIELD_ENCRYPTION_KEYS) and migrate again.
"""

import django.core.validators
import django.db.models.deletion
import tickets.models
import ticketsystem.crypto
import uuid
from django.db import migrations, models

BATCH = 2000


def move_descriptions(apps, schema_editor):
    from ticketsystem.crypto import is_undecryptable

    Ticket = apps.get_model("tickets", "Ticket")
    TicketBody = apps.get_model("tickets", "TicketBody")
    last = 0
    while True:
        batch = list(Ticket.objects.filter(pk__gt=last).order_by("pk").only("pk", "uid", "description")[:BATCH])
        if not batch:
            break
        bodies = []
        for ticket in batch:
            if is_undecryptable(ticket.description):
                raise RuntimeError(
                    f"ticket {ticket.pk}: its description cannot be decrypted "
                    f"({ticket.description.reason}); add the missing key and migrate again"
                )
            bodies.append(TicketBody(ticket_id=ticket.pk, description=str(ticket.description)))
        TicketBody.objects.bulk_create(bodies)
        last = batch[-1].pk


def move_back(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    TicketBody = apps.get_model("tickets", "TicketBody")
    for body in TicketBody.objects.iterator(chunk_size=BATCH):
        ticket = Ticket.objects.only("pk", "uid").get(pk=body.ticket_id)
        ticket.description = str(body.description)
        ticket.save(update_fields=["description"])


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0014_ticket_active_cover'),
    ]

    operations = [
        migrations.CreateModel(
            name='TicketBody',
            fields=[
                ('ticket', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='body', serialize=False, to='tickets.ticket')),
                ('uid', models.UUIDField(default=uuid.uuid4, editable=False)),
                ('description', ticketsystem.crypto.EncryptedTextField(blank=True, validators=[django.core.validators.MaxLengthValidator(50000), tickets.models.validate_printable])),
            ],
        ),
        migrations.RunPython(move_descriptions, move_back),
        # Dropped in SQL: reversing a RemoveField would add the column with a plaintext
        # default, which an encrypted field refuses; move_back fills it instead.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='ticket',
                    name='description',
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE tickets_ticket DROP COLUMN description",
                    reverse_sql="ALTER TABLE tickets_ticket ADD COLUMN description text NOT NULL DEFAULT ''",
                ),
            ],
        ),
    ]
