"""Search settings (settings.py merges them): the token index key and its bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ticketsystem.env import dev_secret, envint, envsecret, random_key


def search_settings(*, production: bool, data_dir: Path) -> dict[str, Any]:
    """Raises ConfigError with a one-line reason. Production requires SEARCH_INDEX_KEY
    (ticketsystem/production.py); development generates one in DATA_DIR."""
    key = envsecret("SEARCH_INDEX_KEY")
    if not production:
        key = key or dev_secret(data_dir, "SEARCH_INDEX_KEY", random_key)
    return {
        "SEARCH_INDEX_KEY": key,
        # A quoted phrase (or a prefix longer than the index keeps) is confirmed by decrypting
        # at most this many best-ranked candidates.
        "SEARCH_CONFIRM_LIMIT": envint("SEARCH_CONFIRM_LIMIT", 500, minimum=10, maximum=10_000),
    }
