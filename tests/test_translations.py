"""The German catalogue is complete and current: every message translated, none fuzzy, the
placeholders kept, formal address, and the compiled .mo files say what the .po files say."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests import pofile

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
INFORMAL = re.compile(r"\b(du|dich|dir|dein|deine|deinen|deiner|euch|euer)\b", re.IGNORECASE)


def test_there_is_a_german_catalogue_for_the_server_and_the_javascript():
    names = {str(p.relative_to(LOCALE)) for p in CATALOGUES}
    assert {"de/LC_MESSAGES/django.po", "de/LC_MESSAGES/djangojs.po"} <= names


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_every_message_is_translated_and_none_is_fuzzy(po):
    entries = pofile.read(po)
    assert entries and entries[0].msgid == ""  # the header
    problems = [f"fuzzy: {e.msgid!r}" for e in entries if "fuzzy" in e.flags] + [
        f"untranslated: {e.msgid!r}" for e in entries[1:] if not e.translated
    ]
    problems += [f"obsolete: {e.msgid!r}" for e in entries if e.obsolete]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_translations_keep_their_placeholders_and_say_sie(po):
    for entry in pofile.read(po)[1:]:
        for text in entry.msgstr.values():
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(entry.msgid)), (
                entry.msgid
            )
            assert not INFORMAL.search(text), f"informal address in {text!r}"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_the_compiled_catalogue_matches_its_source(po):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"run `make messages`: {mo.name} is missing"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in pofile.read(po)[1:]:
        ctx = entry.msgctxt
        if entry.msgid_plural:
            for n, index in ((1, 0), (2, 1)):
                got = (
                    compiled.npgettext(ctx, entry.msgid, entry.msgid_plural, n)
                    if ctx
                    else compiled.ngettext(entry.msgid, entry.msgid_plural, n)
                )
                assert got == entry.msgstr[index], f"{mo.name} is stale for {entry.msgid!r}"
        else:
            got = compiled.pgettext(ctx, entry.msgid) if ctx else compiled.gettext(entry.msgid)
            assert got == entry.msgstr[0], (
                f"{mo.name} is stale for {entry.msgid!r}: run `make messages`"
            )
