"""CSV that spreadsheets open as data: no cell starts a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

# Excel, LibreOffice and Google Sheets start a formula (or DDE) on these, also after
# leading spaces; full-width variants count in some locales.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> str:
    """The value as text, prefixed with ``'`` if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text line by line (for a streaming response), every cell made safe."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # BOM: spreadsheets then read UTF-8
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])
