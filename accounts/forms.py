"""Account forms."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Username and password. Passwords are capped at 128 characters, like the validators."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].max_length = 128
        self.fields["username"].widget.attrs["autocomplete"] = "username"
