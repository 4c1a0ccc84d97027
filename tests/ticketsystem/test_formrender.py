"""The Python-built widgets are byte for byte what Django's widget templates write."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from ticketsystem.formrender import FastWidgetRenderer


class Everything(forms.Form):
    text = forms.CharField(max_length=20, help_text="Help", initial='a "quoted" <b>&')
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"placeholder": "x"}))
    number = forms.IntegerField(min_value=0, initial=5)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    flag = forms.BooleanField(required=False, initial=True)
    off = forms.BooleanField(required=False, label=gettext_lazy("Off"))
    upload = forms.FileField(required=False)
    plain_file = forms.FileField(required=False, widget=forms.FileInput)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "data-x": "", "data-on": True}),
        initial="line one\n<script>",
    )
    empty_body = forms.CharField(widget=forms.Textarea, required=False)
    choice = forms.ChoiceField(
        choices=[("", "—"), ("a", "A & B"), ("b", mark_safe("<i>B</i>")), (3, gettext_lazy("C"))],
        initial="a",
    )
    grouped = forms.ChoiceField(
        choices=[("Group <1>", [("x", "X"), ("y", "Y")]), ("z", "Z")], initial="y"
    )
    many = forms.MultipleChoiceField(choices=[("1", "One"), ("2", "Two")], initial=["1", "2"])
    yesno = forms.NullBooleanField()


def render_all(form: forms.Form) -> list[str]:
    return [str(form[name]) for name in form.fields]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "", "number": "-1", "choice": "zz", "body": "", "many": ["9"], "flag": "on"},
        {"text": "t<>", "email": 'a"b', "grouped": "x", "yesno": "true", "hidden": "h&"},
    ],
)
def test_every_widget_renders_as_djangos_templates_do(data: Any) -> None:
    fast = Everything(data, renderer=FastWidgetRenderer())
    slow = Everything(data, renderer=DjangoTemplates())
    if data is not None:
        fast.is_valid()
        slow.is_valid()
    assert render_all(fast) == render_all(slow)


def test_other_templates_are_left_to_django() -> None:
    form = Everything({}, renderer=FastWidgetRenderer())
    assert form.errors
    assert str(form) == str(Everything({}, renderer=DjangoTemplates()))


def test_the_project_uses_it() -> None:
    assert isinstance(get_default_renderer(), FastWidgetRenderer)


def test_the_plain_widgets_never_reach_a_template() -> None:
    class Counting(FastWidgetRenderer):
        templates: list[str] = []

        def get_template(self, template_name: str) -> Any:
            self.templates.append(template_name)
            return super().get_template(template_name)

    renderer = Counting()
    render_all(Everything(renderer=renderer))
    assert renderer.templates == []


@pytest.mark.parametrize("data", [None, {"text": "x"}])
def test_labels_and_legends_render_as_djangos_template_does(data: Any, monkeypatch) -> None:
    fast = Everything(data, renderer=FastWidgetRenderer())
    slow = Everything(data, renderer=DjangoTemplates())
    if data is not None:
        fast.is_valid()
        slow.is_valid()

    def labels(form: forms.Form) -> list[str]:
        found = []
        for name in form.fields:
            field = form[name]
            found += [
                str(field.label_tag()),
                str(field.label_tag(attrs={"class": 'a "b"', "hidden": True, "off": False})),
                str(field.label_tag("<i>x</i> & y", label_suffix="?")),
                str(field.legend_tag()),
            ]
        return found

    expected = labels(slow)
    templates: list[str] = []
    original = DjangoTemplates.render

    def counted(self: Any, template_name: str, *args: Any, **kwargs: Any) -> str:
        templates.append(template_name)
        return original(self, template_name, *args, **kwargs)

    monkeypatch.setattr(DjangoTemplates, "render", counted)
    assert labels(fast) == expected
    assert templates == []  # built in Python, no template rendered
    unlabelled = Everything(auto_id=False, renderer=FastWidgetRenderer())
    assert str(unlabelled["text"].label_tag()) == str(
        Everything(auto_id=False, renderer=DjangoTemplates())["text"].label_tag()
    )
