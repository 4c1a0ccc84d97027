from django.urls import path

from accounts import preferences, views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", views.logout, name="logout"),
    path("2fa/", views.two_factor, name="two_factor"),
    path("2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("2fa/backup-codes/", views.backup_codes, name="backup_codes"),
    path("sudo/", views.sudo, name="sudo"),
    path("password/", views.password_change, name="password_change"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("sessions/", views.sessions, name="sessions"),
    path("sessions/revoke-others/", views.sessions_revoke_others, name="sessions_revoke_others"),
    path("sessions/<str:sid>/revoke/", views.session_revoke, name="session_revoke"),
]
