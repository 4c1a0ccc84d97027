"""The JavaScript's translations (/jsi18n/), built once per language and process.

Every page loads the catalogue before its scripts, and the session middleware forbids the
browser to cache it; Django's view reads every app's djangojs.mo on each request. The .mo
files change only with a deploy (which restarts the processes), so the script per language
is kept: the same bytes Django renders, without the file reads.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.views.i18n import JavaScriptCatalog

_rendered: dict[str, tuple[bytes, str]] = {}


class CachedJavaScriptCatalog(JavaScriptCatalog):
    """Django's JavaScriptCatalog, its output remembered per language."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = get_language() or ""
        if language not in _rendered:
            response = super().get(request, *args, **kwargs)
            _rendered[language] = (response.content, response["Content-Type"])
        content, content_type = _rendered[language]
        return HttpResponse(content, content_type=content_type)
