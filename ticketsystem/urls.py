from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from tickets import views as ticket_views
from ticketsystem.jscatalog import CachedJavaScriptCatalog

urlpatterns = [
    path("", ticket_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("audit/", include("audit.urls")),
    # The JavaScript's translations (gettext() in static/js), as a script file: no inline code.
    # Public text, needed before the second factor too (login and enrolment pages).
    path(
        "jsi18n/", login_not_required(CachedJavaScriptCatalog.as_view()), name="javascript-catalog"
    ),
    path("", include("ops.urls")),
    path("", include("tickets.urls")),
]

# A static page with the request's incident id (no context processors: the database may be down).
handler500 = "ticketsystem.errors.server_error"
