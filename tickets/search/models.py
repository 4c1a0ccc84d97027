"""The search index table: one row per (ticket, scope) holding the set of its token hashes,
never a word (docs/security.md)."""

from __future__ import annotations

from django.db import models

from tickets.search.fields import TokenListField


class Scope(models.IntegerChoices):
    """Who may match a row. PUBLIC and INTERNAL are cumulative, so one row answers a search:
    PUBLIC holds every term anyone who sees the ticket can read (subject, description,
    requester, public replies, their files); INTERNAL holds PUBLIC's terms plus those of
    internal notes and their files, and exists only for tickets that have such notes.
    SUBJECT repeats the subject's terms, for ranking."""

    SUBJECT = 0, "Subject"
    PUBLIC = 1, "Public"
    INTERNAL = 2, "Internal"


class SearchToken(models.Model):
    """The keyed hashes (tickets/search/tokens.py) of a ticket's distinct terms in a scope."""

    pk = models.CompositePrimaryKey("ticket", "scope")
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    scope = models.PositiveSmallIntegerField(choices=Scope.choices)
    tokens = TokenListField()

    class Meta:
        app_label = "tickets"
        # The primary key (ticket, scope) serves rebuilding, appending and ranking; on
        # PostgreSQL two partial GIN indexes on tokens (subject rows; public and internal
        # rows) answer a search without visiting the other scope's rows (migration 0010).

    def __str__(self) -> str:
        return f"search tokens of ticket #{self.ticket_id}"
