"""The search index table: one row per (token, ticket, scope), never a word."""

from __future__ import annotations

from django.db import models


class Scope(models.IntegerChoices):
    SUBJECT = 0, "Subject"  # ranks first
    PUBLIC = 1, "Public"  # description, requester, CC, public replies, file names
    INTERNAL = 2, "Internal"  # internal notes: only for those who may read them


class SearchToken(models.Model):
    """A keyed hash of a term (tickets/search/tokens.py) occurring in a ticket."""

    pk = models.CompositePrimaryKey("token", "ticket", "scope")
    token = models.BigIntegerField()
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=True
    )
    scope = models.PositiveSmallIntegerField(choices=Scope.choices)

    class Meta:
        app_label = "tickets"
        # The primary key (token, ticket, scope) answers a search from the index alone; the
        # ticket index serves rebuilding and removing one ticket's tokens.

    def __str__(self) -> str:
        return f"token of ticket #{self.ticket_id}"
