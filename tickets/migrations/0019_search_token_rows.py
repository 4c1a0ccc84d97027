"""The search index becomes one row per ticket with 32-bit tokens (issue 14): terms only
internal notes hold are kept as their own tokens in the same row, subject tokens beside them
for ranking.

The old rows are dropped, not converted (the tokens changed): run `manage.py reindex` after
migrating.
"""

import django.db.models.deletion
from django.db import migrations, models

import tickets.search.fields

# One GIN index over every row. A new comment rewrites its ticket's row, and so every token
# of it: the pending list (fastupdate) takes those as one append and merges them in bulk
# later; kept small (256 kB), so the part every search scans stays short.
GIN = "tickets_searchtoken_gin"


def gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {GIN} ON tickets_searchtoken USING gin (tokens)"
            " WITH (fastupdate = on, gin_pending_list_limit = 256)"
        )


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0018_statuscount"),
    ]

    operations = [
        migrations.DeleteModel(name="SearchToken"),
        migrations.CreateModel(
            name="SearchToken",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_tokens",
                        serialize=False,
                        to="tickets.ticket",
                    ),
                ),
                ("tokens", tickets.search.fields.TokenListField()),
                ("subject", tickets.search.fields.TokenListField()),
            ],
        ),
        migrations.RunPython(gin_index, drop_gin_index),
    ]
