"""A form renderer that builds the plain widgets (inputs, textareas, selects) in Python.

Django renders every widget through a template (an include per attribute list and per
option); on the ticket page's action forms that was a quarter of the page's time. This
renderer writes the same HTML, byte for byte, for Django's own input, textarea and select
templates (tests/ticketsystem/test_formrender.py compares both) and hands every other
template (admin widgets, error lists, whole forms) to Django's template renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.html import conditional_escape

WIDGETS = "django/forms/widgets/"
# The templates that are exactly {% include "django/forms/widgets/input.html" %}.
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "input",
        "text",
        "email",
        "url",
        "number",
        "password",
        "hidden",
        "checkbox",
        "file",
        "search",
        "tel",
        "color",
        "date",
        "datetime",
        "time",
    )
)
OPTION = f"{WIDGETS}select_option.html"


def _text(value: Any) -> str:
    """What ``{{ value|stringformat:'s' }}`` prints: str(), escaped unless already safe."""
    return str(conditional_escape(value if isinstance(value, str) else str(value)))


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_text(value)}"')
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = f' value="{_text(value)}"' if value is not None else ""
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}' + (
        f"{_attrs(widget['attrs'])}>"
    )


def _file(widget: dict[str, Any]) -> str | None:
    """clearable_file_input.html without a current file (with one, Django's template)."""
    if widget.get("is_initial"):
        return None
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"' + (
        f"{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict[str, Any]) -> str:
    value = widget["value"]
    body = str(conditional_escape(value)) if value else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{body}</textarea>'


def _select(widget: dict[str, Any]) -> str | None:
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            label = option["label"]
            if option["template_name"] != OPTION or not isinstance(label, str | Promise):
                return None  # a custom option template or a label to localise: Django's
            parts.append(
                f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                f"{conditional_escape(str(label))}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


BUILDERS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    **dict.fromkeys(INPUTS, _input),
    f"{WIDGETS}clearable_file_input.html": _file,
    f"{WIDGETS}textarea.html": _textarea,
    f"{WIDGETS}select.html": _select,
}


LABEL = "django/forms/label.html"


def _label(context: dict[str, Any]) -> str:
    """django/forms/label.html: a field's label (``label_tag``) or legend (``legend_tag``)."""
    label = str(conditional_escape(context["label"]))
    if not context.get("use_tag"):
        return label
    tag = _text(context["tag"])
    return f"<{tag}{_attrs(context.get('attrs') or {})}>{label}</{tag}>"


class FastWidgetRenderer(DjangoTemplates):
    """Django's default renderer, with the plain widgets and labels written in Python."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == LABEL and request is None and "label" in context:
            return _label(context)
        build = BUILDERS.get(template_name)
        widget = context.get("widget") if build is not None and request is None else None
        if isinstance(widget, dict):
            html = build(widget)  # type: ignore[misc]
            if html is not None:
                return html.strip()
        return super().render(template_name, context, request=request)
