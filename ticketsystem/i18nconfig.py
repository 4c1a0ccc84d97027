"""Languages, translations and the per-user language and time zone (settings.py merges this).

German and English; the language comes from the user's preference, else the browser
(LocaleMiddleware); the time zone from the user's preference, else settings.TIME_ZONE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LANGUAGES = [("de", "Deutsch"), ("en", "English")]


def i18n_settings(middleware: list[str], base_dir: Path) -> dict[str, Any]:
    """The i18n settings by name; puts the two middlewares in ``middleware`` in place."""
    after_session = middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
    middleware.insert(after_session, "django.middleware.locale.LocaleMiddleware")
    after_auth = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
    middleware.insert(after_auth, "accounts.preferences.PreferenceMiddleware")
    return {
        "LANGUAGE_CODE": "en",
        "LANGUAGES": LANGUAGES,
        "LOCALE_PATHS": [base_dir / "locale"],
        "USE_I18N": True,
    }
