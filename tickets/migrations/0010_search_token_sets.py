"""The search index becomes one row per (ticket, scope) holding a set of tokens (issue 14).

The old rows are dropped, not converted: run `manage.py reindex` after migrating.
"""

from django.db import migrations, models

import django.db.models.deletion
import tickets.search.fields

GIN = "CREATE INDEX tickets_searchtoken_tokens_gin ON tickets_searchtoken USING gin (tokens)"


def gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GIN)


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS tickets_searchtoken_tokens_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_uid_immutable"),
    ]

    operations = [
        migrations.DeleteModel(name="SearchToken"),
        migrations.CreateModel(
            name="SearchToken",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "ticket",
                        "scope",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "scope",
                    models.PositiveSmallIntegerField(
                        choices=[(0, "Subject"), (1, "Public"), (2, "Internal")]
                    ),
                ),
                ("tokens", tickets.search.fields.TokenListField()),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tickets.ticket",
                    ),
                ),
            ],
        ),
        migrations.RunPython(gin_index, drop_gin_index),
    ]
