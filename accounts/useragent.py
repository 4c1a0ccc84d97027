"""A short, human description of a User-Agent string for the sessions page."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

# Order matters: Edge and Opera claim to be Chrome, Chrome claims to be Safari.
_BROWSERS = [
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
]
_SYSTEMS = [
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
]


def describe_user_agent(value: str) -> str:
    """E.g. "Firefox 128 on Linux"; "Unknown browser" when nothing is recognised."""
    value = value or ""
    browser = next(
        (f"{name} {match[1]}" for name, rx in _BROWSERS if (match := rx.search(value))), ""
    )
    system = next((name for name, rx in _SYSTEMS if rx.search(value)), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")
