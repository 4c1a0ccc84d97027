"""``{% form_field %}`` and ``{% form_errors %}``: how every form on our pages lays out a field
(label, widget, help text, errors) and a form's own errors. A built-in tag library
(settings.TEMPLATES), written in Python: the ticket page draws a dozen fields, and an include
per field cost more than the widgets themselves (the widgets: ticketsystem/formrender.py).
"""

from __future__ import annotations

from django import template
from django.forms import BaseForm, BoundField
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

REQUIRED = ' <span class="req" aria-hidden="true">*</span>'


@register.simple_tag
def form_field(field: BoundField) -> SafeString:
    """``{% form_field form.name %}``: one field in a ``div.field`` (checkboxes before their
    label); help text and errors carry the ids that the widget's aria-describedby names."""
    checkbox = getattr(field.field.widget, "input_type", None) == "checkbox"
    errors = field.errors
    classes = "field" + (" has-error" if errors else "") + (" checkbox" if checkbox else "")
    widget = conditional_escape(field)  # the widget's HTML (BoundField is safe HTML)
    label = (
        f'<label for="{conditional_escape(field.id_for_label)}">{conditional_escape(field.label)}'
    )
    if checkbox:
        body = f"{widget} {label}</label>"
    else:
        body = f"{label}{REQUIRED if field.field.required else ''}</label>\n{widget}"
    auto_id = conditional_escape(field.auto_id)
    parts = [f'<div class="{classes}">', body]
    if field.help_text:
        help_text = conditional_escape(field.help_text)
        parts.append(f'<p class="help" id="{auto_id}_helptext">{help_text}</p>')
    parts.extend(
        f'<p class="error" id="{auto_id}_error">{conditional_escape(error)}</p>' for error in errors
    )
    parts.append("</div>")
    return mark_safe("\n".join(parts))  # noqa: S308 - every value above is escaped


@register.simple_tag
def form_errors(form: BaseForm) -> SafeString | str:
    """``{% form_errors form %}``: the errors that belong to no field, as an alert."""
    errors = form.non_field_errors()
    if not errors:
        return ""
    lines = "".join(f"<p>{conditional_escape(error)}</p>" for error in errors)
    return mark_safe(f'<div class="alert error" role="alert">\n  {lines}\n</div>')  # noqa: S308
