from django.apps import AppConfig


class TicketsystemConfig(AppConfig):
    name = "ticketsystem"
    verbose_name = "ticketsystem"

    def ready(self) -> None:
        from ticketsystem import checks  # noqa: F401  (registers system checks)
