"""{% detail_time %} writes what the include it replaced wrote (tickets/partials/
detail_time.html until 2026-12-06), in English and German, in the user's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

# The include's template, verbatim (less its comment and trailing newline).
INCLUDE = (
    "{% load i18n timefmt %}"
    '<time datetime="{{ at.isoformat }}" title="{% if absolute %}{{ at|reltext }}{% else %}'
    "{{ at|date:'DATETIME_FORMAT' }} {{ at|date:'T' }}{% endif %}\">{% if absolute %}"
    "{{ at|date:'DATETIME_FORMAT' }} {{ at|date:'T' }}{% else %}{{ at|reltext }}{% endif %}"
    "</time>"
)
TAG = "{% load tickets_tags %}{% if absolute %}{% detail_time at absolute=True %}{% else %}{% detail_time at %}{% endif %}"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("ago", [timedelta(minutes=3), timedelta(days=40, hours=5)])
def test_the_tag_writes_what_the_include_wrote(language, zone, absolute, ago):
    at = datetime.now(UTC) - ago
    with translation.override(language), timezone.override(zone):
        context = {"at": at, "absolute": absolute}
        tag = Template(TAG).render(Context(context))
        assert tag == Template(INCLUDE).render(Context(context))
    assert tag.startswith(f'<time datetime="{at.isoformat()}" title="')
