from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from tickets import events
        from tickets.live import receivers

        events.connect_receivers()
        receivers.connect_receivers()
