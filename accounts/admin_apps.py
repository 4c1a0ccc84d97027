"""INSTALLED_APPS entry for django.contrib.admin with the OTP-protected site as admin.site.

Kept apart from accounts/admin_site.py: app configs are imported before models are ready.
"""

from django.contrib.admin.apps import AdminConfig


class OTPAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.OTPAdminSite"
