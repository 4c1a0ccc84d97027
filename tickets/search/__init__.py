"""Search inside encrypted tickets through a blind token index (docs/security.md).

``text``: normalising and splitting text into terms; ``tokens``: keyed hashes of terms;
``index``: keeping the SearchToken rows in step (called by the services, in their
transaction); ``query``: parsing a search and matching it in SQL; ``snippets``: confirming
phrases and highlighting words by decrypting a bounded set of rows for one user.
"""

from tickets.search.index import (
    index_attachment,
    index_comment,
    index_contact_tickets,
    index_new_ticket,
    index_ticket,
    unindex_ticket,
)

__all__ = [
    "index_attachment",
    "index_comment",
    "index_contact_tickets",
    "index_new_ticket",
    "index_ticket",
    "unindex_ticket",
]
