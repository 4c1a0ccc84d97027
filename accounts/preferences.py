"""A user's language and time zone: the form and page to set them, the service that saves
them, and the middleware that applies them to each request.

The choice is copied into the session at login and on change (no query per request); empty means
the browser's language (LocaleMiddleware) and settings.TIME_ZONE.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import UserPreference

SESSION_KEY = "_preferences"


@cache
def time_zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Dates and times are shown in this zone."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("As the browser says")),
            *settings.LANGUAGES,
        ]
        self.fields["time_zone"].choices = [
            ("", _("Server default (%(zone)s)") % {"zone": settings.TIME_ZONE}),
            *((name, name) for name in time_zone_names()),
        ]


@transaction.atomic
def preference_save(*, actor: Any, language: str, time_zone: str) -> UserPreference:
    """Save the actor's own language and time zone (validated against the known lists)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError("unknown language")
    if time_zone and time_zone not in time_zone_names():
        raise ValueError("unknown time zone")
    pref, _created = UserPreference.objects.update_or_create(
        user=actor, defaults={"language": language, "time_zone": time_zone}
    )
    return pref


def preferences(request: HttpRequest) -> HttpResponse:
    pref = UserPreference.objects.filter(user=request.user).first()
    initial = {"language": pref.language, "time_zone": pref.time_zone} if pref else {}
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            preference_save(
                actor=request.user, language=data["language"], time_zone=data["time_zone"]
            )
            remember(request, request.user)
            if data["language"]:
                translation.activate(data["language"])
            messages.success(request, _("Preferences saved."))
            return redirect("preferences")
        return render(request, "accounts/preferences.html", {"form": form}, status=400)
    return render(request, "accounts/preferences.html", {"form": form, "saved_zone": bool(initial)})


def remember(request: HttpRequest, user: Any) -> None:
    """Copy the user's preferences into the session (at login and after a change), so no
    request reads them from the database."""
    request.session[SESSION_KEY] = session_value(user)


def session_value(user: Any) -> list[str]:
    """[language, time zone] as the session keeps them ("" for "not chosen")."""
    pref = UserPreference.objects.filter(user=user).first()
    return [pref.language, pref.time_zone] if pref else ["", ""]


@contextmanager
def users_language(user: Any) -> Iterator[None]:
    """Render in ``user``'s own language and time zone (a mail to them), whoever is acting."""
    language, zone = session_value(user)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    tz = zoneinfo.ZoneInfo(zone) if zone in time_zone_names() else None
    with translation.override(language), timezone.override(tz):
        yield


class PreferenceMiddleware:
    """Apply the signed-in user's language and time zone (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language, zone = "", ""
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            language, zone = self._load(request, user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        if zone:
            timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _load(request: HttpRequest, user: Any) -> tuple[str, str]:
        cached = request.session.get(SESSION_KEY)
        if not isinstance(cached, list) or len(cached) != 2:
            return "", ""
        language, zone = (str(v) for v in cached)
        if language not in dict(settings.LANGUAGES):
            language = ""
        if zone not in time_zone_names():
            zone = ""
        return language, zone
