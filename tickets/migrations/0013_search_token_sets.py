"""The search index becomes one row per (ticket, scope) holding a set of tokens (issue 14).

The old rows are dropped, not converted: run `manage.py reindex` after migrating.
"""

from django.db import migrations, models

import django.db.models.deletion
import tickets.search.fields

GIN = {  # partial: a search reads text rows, ranking reads subject rows
    "tickets_searchtoken_text_gin": "scope IN (1, 2)",
    "tickets_searchtoken_subject_gin": "scope = 0",
}


def gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, where in GIN.items():
            schema_editor.execute(
                f"CREATE INDEX {name} ON tickets_searchtoken USING gin (tokens) WHERE {where}"
            )


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in GIN:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0012_agent_work"),
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
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tickets.ticket",
                    ),
                ),
            ],
        ),
        migrations.RunPython(gin_index, drop_gin_index),
    ]
