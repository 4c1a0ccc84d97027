"""Account forms. Credentials are checked through ``authenticate()`` so django-axes counts
every failure, including empty ones and password re-entry for sudo mode."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm as BasePasswordChangeForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

MAX_PASSWORD_LENGTH = 128


def _cap(field: forms.CharField) -> None:
    """At most MAX_PASSWORD_LENGTH characters: longer input is refused before any hashing."""
    field.max_length = MAX_PASSWORD_LENGTH
    field.validators.append(MaxLengthValidator(MAX_PASSWORD_LENGTH))


def _password_widget(autocomplete: str, autofocus: bool = False) -> forms.PasswordInput:
    attrs: dict[str, Any] = {"autocomplete": autocomplete, "maxlength": MAX_PASSWORD_LENGTH}
    if autofocus:
        attrs["autofocus"] = True
    return forms.PasswordInput(attrs=attrs)


class LoginForm(AuthenticationForm):
    """Username and password (step one of two)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _cap(self.fields["password"])
        self.fields["password"].widget = _password_widget("current-password")
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        )

    @sensitive_variables("password")
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            # An empty or oversized field never reaches authenticate() in Django's form;
            # ask it anyway so the attempt is counted (and refused during a lockout).
            authenticate(self.request, username=username or "", password=password or "")
            return self.cleaned_data
        return super().clean()


class CodeForm(forms.Form):
    """A 6-digit authenticator code, or (at login) a backup code."""

    code = forms.CharField(
        label=_("Authentication code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "none",
                "spellcheck": "false",
                "size": 12,
            }
        ),
    )

    def __init__(self, *args: Any, allow_backup: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_backup = allow_backup
        if allow_backup:
            self.fields["code"].help_text = _(
                "The 6-digit code from your authenticator app, or one of your backup codes."
            )
        else:
            self.fields["code"].widget.attrs["inputmode"] = "numeric"
            self.fields["code"].help_text = _("The 6-digit code your authenticator app shows now.")

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not self.allow_backup and not (code.isdigit() and len(code) == 6):
            raise ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code


class SudoForm(forms.Form):
    """Re-enter the password before a sensitive change."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=_password_widget("current-password", autofocus=True),
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    @sensitive_variables("password")
    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        if authenticate(self.request, username=user.get_username(), password=password) != user:
            raise ValidationError(_("That is not your password."), code="password_incorrect")
        return password


class PasswordChangeForm(BasePasswordChangeForm):
    """Django's form, with the old password checked through authenticate() (rate limited)
    and the validators' help as plain text."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request
        self.fields["old_password"].label = _("Current password")
        _cap(self.fields["old_password"])
        self.fields["old_password"].widget = _password_widget("current-password", autofocus=True)
        for name in ("new_password1", "new_password2"):
            _cap(self.fields[name])
            self.fields[name].widget = _password_widget("new-password")
        self.fields["new_password1"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )

    @sensitive_variables("old_password")
    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        if authenticate(self.request, username=username, password=old_password) != self.user:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
