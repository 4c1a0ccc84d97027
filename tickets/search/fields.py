"""A set of 32-bit search tokens in one column: ``integer[]`` under a GIN index on PostgreSQL,
space-separated text on SQLite (the ``make run`` default, development only: correct, not fast).

Lookups: ``tokens__has_all=[...]`` (every token; PostgreSQL ``@>``) and ``tokens__has_any``
(at least one; ``&&``). Tokens are integers, never text from a user, and are passed as
parameters on both backends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models


def sqlite_text(tokens: Iterable[int]) -> str:
    """ " 1 -2 3 ": every token framed by spaces, so instr() matches whole tokens only."""
    return " " + "".join(f"{t} " for t in sorted(set(tokens)))


class TokenListField(models.Field):
    description = "A set of 32-bit search tokens"

    def db_type(self, connection: Any) -> str:
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        return [int(t) for t in value.split()]

    def to_python(self, value: Any) -> list[int] | None:
        return self.from_db_value(value, None, None)

    def get_placeholder(self, value: Any, compiler: Any, connection: Any) -> str:
        return "%s::int4[]" if connection.vendor == "postgresql" else "%s"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return sorted({int(t) for t in value})
        return sqlite_text(int(t) for t in value)


class _TokenLookup(models.Lookup):
    prepare_rhs = False
    operator = ""  # PostgreSQL array operator
    joiner = ""  # SQLite: how the per-token instr() tests combine

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        wanted = sorted({int(t) for t in self.rhs})
        if connection.vendor == "postgresql":
            return f"{lhs} {self.operator} %s::int4[]", [*lhs_params, wanted]
        if not wanted:
            return ("1 = 1" if self.joiner == " AND " else "1 = 0"), []
        tests = self.joiner.join(f"instr({lhs}, %s) > 0" for _ in wanted)
        params = [p for t in wanted for p in (*lhs_params, f" {t} ")]
        return f"({tests})", params


@TokenListField.register_lookup
class HasAll(_TokenLookup):
    lookup_name = "has_all"
    operator = "@>"
    joiner = " AND "


@TokenListField.register_lookup
class HasAny(_TokenLookup):
    lookup_name = "has_any"
    operator = "&&"
    joiner = " OR "
