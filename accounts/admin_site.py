"""The admin site requires a verified second factor (django-otp's OTPAdminSite).

Its own login form is never shown: /admin/login/ sends people through the site's two-step
login, so there is exactly one way in. Likewise its password form: /admin/password_change/
sends people to /accounts/password/ (the lockout counts wrong current passwords there, and the
change is audited and notified).

Every model admin registered here (ours and those of axes and auditlog) also answers odd
input with the admin's own clear answers instead of a 500: see ``RobustModelAdmin``.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Field, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp.admin import OTPAdminSite as BaseOTPAdminSite


def _has_nul(query: QueryDict) -> bool:
    # PostgreSQL refuses NUL in text: it must not get as far as a query.
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


def _parses(field: Field, value: Any) -> bool:
    """Whether ``value`` is a valid value of ``field`` (an id from a form or URL)."""
    if "\x00" in str(value):
        return False
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True


class RobustChangeListMixin:
    """Odd filters in a changelist's query string (a NUL byte, the year 10000, text for a
    number, in our filters or third-party ones) are "incorrect lookup parameters", which the
    admin answers with its ?e=1 redirect instead of a 500."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        if _has_nul(request.GET):
            raise IncorrectLookupParameters("NUL character in the query string")
        try:
            return super().get_queryset(request, exclude_parameters)  # type: ignore[misc]
        except (ValueError, OverflowError, ValidationError) as exc:
            raise IncorrectLookupParameters(exc) from exc


@cache
def _robust_changelist(base: type[ChangeList]) -> type[ChangeList]:
    return type(f"Robust{base.__name__}", (RobustChangeListMixin, base), {})


class _RobustAutocomplete:
    """An autocomplete widget re-shown with a bad value (a form error) shows no option for
    it instead of failing to look it up."""

    def optgroups(self, name: str, value: list[Any], attr: Any = None) -> Any:
        target = self.field.target_field  # type: ignore[attr-defined]
        valid = [v for v in value if _parses(target, v)]
        return super().optgroups(name, valid, attr)  # type: ignore[misc]


class RobustAutocompleteSelect(_RobustAutocomplete, AutocompleteSelect):
    pass


class RobustAutocompleteSelectMultiple(_RobustAutocomplete, AutocompleteSelectMultiple):
    pass


class RobustModelAdmin(admin.ModelAdmin):
    """Mixed into every model admin of the site (see ``OTPAdminSite.register``)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _robust_changelist(super().get_changelist(request, **kwargs))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if "\x00" in search_term:  # the autocomplete's term; nothing can contain it anyway
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(_parses(self.model._meta.pk, value) for value in selected):
            self.message_user(request, _("Select items from the list."), messages.WARNING)
            return None  # the admin redirects back to the list, nothing done
        return super().response_action(request, queryset)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = RobustAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = RobustAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OTPAdminSite(BaseOTPAdminSite):
    site_header = "ticketsystem administration"
    site_title = "ticketsystem"

    def register(
        self,
        model_or_iterable: type[Model] | list[type[Model]],
        admin_class: type[admin.ModelAdmin] | None = None,
        **options: Any,
    ) -> None:
        """Register as usual, with ``RobustModelAdmin`` mixed into the admin class."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, RobustModelAdmin):
            admin_class = type(
                admin_class.__name__,
                (RobustModelAdmin, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)

    @login_not_required  # like Django's; the gate would otherwise bounce it to our login
    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_verified():
            # Fully logged in but not admin staff: no second login form, just no.
            raise PermissionDenied(_("Your account cannot use the admin site."))
        from accounts.views import safe_next

        next_url = safe_next(request.GET.get("next")) or reverse("admin:index")
        return HttpResponseRedirect(reverse("login") + "?" + urlencode({"next": next_url}))

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("password_change"))
