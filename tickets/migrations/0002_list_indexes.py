"""List performance: a covering index for the default order, and trigram search on PostgreSQL."""

from django.conf import settings
from django.db import migrations, models

TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS ticket_subject_trgm ON tickets_ticket "
    "USING gin (UPPER(subject::text) gin_trgm_ops)"
)


def create_trigram_index(apps, schema_editor):
    # Subject search is `icontains`, which Django renders as UPPER(subject) LIKE UPPER(%q%):
    # a trigram index on exactly that expression answers it without a sequential scan.
    # PostgreSQL only; SQLite (the development default) scans, which is fine at its size.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(TRIGRAM_INDEX)


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_subject_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_updated",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["-updated_at", "-id"],
                include=("queue", "status", "priority", "assignee"),
                name="ticket_updated",
            ),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
