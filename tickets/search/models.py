"""The search index table: one row per ticket holding the set of its token hashes, never a
word (docs/security.md)."""

from __future__ import annotations

from django.db import models

from tickets.search.fields import TokenListField

GIN_INDEX = "tickets_searchtoken_gin"  # created by migration 0019 and by manage.py reindex


class Scope(models.IntegerChoices):
    """Which part of a ticket a text belongs to (not stored: it decides how a text's terms
    are indexed). SUBJECT and PUBLIC texts are read by anyone who sees the ticket; INTERNAL
    texts (internal notes and their files) only by who may read internal notes."""

    SUBJECT = 0, "Subject"
    PUBLIC = 1, "Public"
    INTERNAL = 2, "Internal"


class SearchToken(models.Model):
    """The keyed hashes (tickets/search/tokens.py) of a ticket's distinct terms: ``tokens``
    under a GIN index (PostgreSQL, migration 0019) answers searches; ``subject`` repeats the
    subject's tokens, unindexed, to rank matches in the subject first."""

    ticket = models.OneToOneField(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search_tokens",
    )
    tokens = TokenListField()
    subject = TokenListField()

    class Meta:
        app_label = "tickets"

    def __str__(self) -> str:
        return f"search tokens of ticket #{self.ticket_id}"
