from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from audit import history, receivers
        from ticketsystem.crypto import decryption_failed

        user_logged_in.connect(receivers.login_succeeded, dispatch_uid="audit.login_succeeded")
        user_login_failed.connect(receivers.login_failed, dispatch_uid="audit.login_failed")
        user_logged_out.connect(receivers.logged_out, dispatch_uid="audit.logout")
        user_locked_out.connect(receivers.locked_out, dispatch_uid="audit.locked_out")
        decryption_failed.connect(receivers.decrypt_failed, dispatch_uid="audit.decrypt_failed")
        history.register_models()
