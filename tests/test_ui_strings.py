"""Every word a page or a script shows goes through Django's i18n: templates through
{% translate %} / {% blocktranslate %} (or a variable), static/js through gettext() and the
djangojs catalogue. Read from the source (no rendering, no browser), so it is fast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted(
    p for p in (ROOT / "templates").rglob("*") if p.suffix in {".html", ".txt"} and p.is_file()
)
SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))

# Words that are the same in every language: the product's name, key names, technical marks.
ALLOWED_WORDS = {"ticketsystem", "Ctrl", "Enter"}
VISIBLE_ATTRS = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"')
HIDDEN = re.compile(r"<(code|kbd)\b[^>]*>.*?</\1>|<!--.*?-->", re.DOTALL)
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&#?\w+;")
WORD = re.compile(r"[^\W\d_]{2,}")
HOLE = "\x00"  # where a template variable or tag stood
# A string literal in a tag or variable ({% include ... with title="Overdue" %},
# {{ x|default:"nobody" }}) that is not _("..."): shown if it reads like words.
LITERAL = re.compile(r"(_\()?([\"'])(.*?)\2")
LITERAL_PROSE = re.compile(r"[^\W\d_]{2,} +[^\W\d_]{2,}|^[A-Z][a-z]{2,}$")


def template_text(source: str) -> str:
    """The template with every tag and variable replaced by HOLE, and the insides of
    {% blocktranslate %}, {% comment %} and the body_class block left out (translated or
    not shown)."""
    parts: list[str] = []
    skip_until = ""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if skip_until:
                if name == skip_until:
                    skip_until = ""
                continue
            if name in ("blocktranslate", "blocktrans"):
                skip_until = "end" + name
            elif name == "comment":
                skip_until = "endcomment"
            elif token.contents.split()[1:2] == ["body_class"]:
                skip_until = "endblock"  # CSS class names
            parts.append(
                _shown_literals(token.contents) if name not in ("translate", "trans") else HOLE
            )
        elif skip_until:
            continue
        elif token.token_type == TokenType.TEXT:
            parts.append(token.contents)
        elif token.token_type == TokenType.COMMENT:
            parts.append(HOLE)
        else:
            parts.append(_shown_literals(token.contents))
    return "".join(parts)


def _shown_literals(contents: str) -> str:
    """HOLE, with the tag's literal strings that read like words (checked as text)."""
    words = [
        text
        for translated, _quote, text in LITERAL.findall(contents)
        if not translated and LITERAL_PROSE.search(text)
    ]
    return HOLE + "".join(f" {w} {HOLE}" for w in words)


def untranslated_words(source: str) -> list[str]:
    """Words a reader would see that no translation tag covers."""
    text = HIDDEN.sub(HOLE, template_text(source))
    shown = [*VISIBLE_ATTRS.findall(text), ENTITY.sub(" ", TAG.sub(HOLE, text))]
    return [w for chunk in shown for w in WORD.findall(chunk) if w not in ALLOWED_WORDS]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_visible_word_of_a_template_is_translated(path):
    words = untranslated_words(path.read_text())
    assert not words, f"{path.relative_to(ROOT)}: wrap in {{% translate %}}: {words}"


def test_the_template_check_finds_bare_words_and_accepts_translated_ones():
    bare = (
        '<p title="Close it">Reply</p><button aria-label="Menu">{{ x }}</button>'
        '{% include "p.html" with title="Due soon" %}{{ y|default:"Nobody" }}'
    )
    assert untranslated_words(bare) == ["Close", "it", "Menu", "Reply", "Due", "soon", "Nobody"]
    wrapped = (
        '{% load i18n %}<p title="{% translate \'Close it\' %}">{% translate "Reply" %}</p>'
        "{% blocktranslate count n=x %}{{ n }} day{% plural %}{{ n }} days{% endblocktranslate %}"
        "{% comment %}Not shown{% endcomment %}<kbd>Ctrl</kbd> <code>manage.py</code> ticketsystem"
        '<a href="{% url "x" %}" class="button primary">{{ y|default:_("Nobody") }}</a>'
        '{% include "p.html" with id="mine" title=_("My open tickets") %}{# A note #}'
    )
    assert untranslated_words(wrapped) == []


# --- JavaScript ---------------------------------------------------------------------------

STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
COMMENT = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.DOTALL | re.MULTILINE)
REGEX_LITERAL = re.compile(
    r"(?<=[(,=:!&|?;{}]) *\/(?![*/])(?:[^/\\\n\[]|\\.|\[[^\]\n]*\])+\/[gimsuy]*"
)
GETTEXT_CALL = re.compile(r"\b(?:gettext|ngettext|pgettext|npgettext|gettext_noop)\s*\($")
# Prose: two words, or one capitalised word (a label such as "Requester").
PROSE = re.compile(r"[A-Za-z]{2,}[,.:;!?…]? +[A-Za-z]{2,}|^[A-Z][a-z]{2,}$")
CLASS_NAMES = re.compile(r"[a-z0-9 _-]*-[a-z0-9 _-]*")  # "badge prio-" + a code
# Literals that look like words but are never shown: keys, headers, protocol and selectors.
NOT_SHOWN = {
    "use strict",
    "login required",
    "Content-Type",
    "Enter",
    "Escape",
    "WebSocket",
    "SELECT",
    "Accept",
    "time span",  # the context of npgettext()
}


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def calling_function(source: str, at: int) -> str:
    """The source up to the '(' of the innermost call whose arguments include ``at``."""
    depth = 0
    for i in range(at - 1, -1, -1):
        ch = source[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                return source[: i + 1]
            depth -= 1
        elif ch in ";{}" and depth == 0:
            return ""
    return ""


def bare_strings(source: str) -> list[str]:
    """String literals holding prose that are not an argument of gettext() and friends."""
    code = COMMENT.sub(_blank, source)
    code = REGEX_LITERAL.sub(_blank, code)
    found = []
    for match in STRING.finditer(code):
        text = match.group(0)[1:-1]
        if text in NOT_SHOWN or not PROSE.search(text) or CLASS_NAMES.fullmatch(text):
            continue
        if GETTEXT_CALL.search(calling_function(code, match.start())):
            continue
        found.append(text)
    return found


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_sentence_a_script_shows_goes_through_gettext(path):
    strings = bare_strings(path.read_text())
    assert not strings, f"static/js/{path.name}: use gettext() for {strings}"


def test_the_script_check_finds_bare_sentences_and_accepts_gettext():
    bare = (
        'el.textContent = "Your session has ended.";\n'
        'box.title = "Requester";\nalert(n + " tickets changed");\n'
    )
    assert bare_strings(bare) == ["Your session has ended.", "Requester", " tickets changed"]
    wrapped = (
        '"use strict";\n// Not "shown" here\nel.textContent = gettext("Your session has ended.");\n'
        'x = ngettext("%(n)s ticket changed", "%(n)s tickets changed", n);\n'
        'y = npgettext("time span", "%(num)s day", "%(num)s days", n);\n'
        'z = fmt(gettext("in %(span)s"), { span: duration(ms) });\n'
        'if (event.key === "Enter") { q("a[data-x]"); }\n'
    )
    assert bare_strings(wrapped) == []


def test_every_page_loads_the_javascript_catalogue_before_its_scripts():
    base = (ROOT / "templates" / "base.html").read_text()
    catalogue = base.index("{% url 'javascript-catalog' %}")
    assert catalogue < base.index("js/nav.js") < base.index("{% block scripts %}")
