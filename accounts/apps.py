from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import receivers, second_factor

        receivers.connect()
        # The confirmed devices' ids arrive with the user: "verified?" costs no query.
        second_factor.register()
