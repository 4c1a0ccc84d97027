"""/jsi18n/: the scripts' translations, public (the login steps load it too), per language,
the same script Django's own view renders."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation
from django.views.i18n import JavaScriptCatalog

pytestmark = pytest.mark.django_db


def test_the_catalogue_is_a_public_script_in_the_readers_language(client):
    german = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="de")
    assert german.status_code == 200
    assert german["Content-Type"].startswith("text/javascript")
    assert "gerade eben" in german.content.decode()
    english = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "gerade eben" not in english


def test_the_remembered_catalogue_is_what_django_renders(client):
    client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="de")  # now remembered
    remembered = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="de").content
    with translation.override("de"):
        fresh = JavaScriptCatalog.as_view()(RequestFactory().get("/jsi18n/")).content
    assert remembered == fresh
