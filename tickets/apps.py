from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from audit.history import register_audited
        from tickets.live import receivers
        from tickets.models import Attachment, Comment, Contact, Queue, Ticket, TicketBody

        receivers.connect_receivers()
        # The queues a staff member works arrive with the user (tickets/access.py reads them).
        from accounts.backends import annotate_with_user
        from tickets.access import QUEUE_IDS_ATTRIBUTE, queue_ids_of_user

        annotate_with_user(QUEUE_IDS_ATTRIBUTE, queue_ids_of_user)
        # Field-level model history (django-auditlog), encrypted fields masked.
        # Ticket's reverse one-to-one to its body is no field of the row: left out, the
        # create entry does not read the (not yet written) body back.
        register_audited(Ticket, exclude_fields=("body", "search_tokens"))
        for model in (TicketBody, Comment, Contact):
            register_audited(model)
        register_audited(Queue, m2m_fields={"members"})
        register_audited(Attachment, exclude_fields=("content",))
        from tickets.agent_models import CannedResponse, TicketCC

        register_audited(TicketCC)
        register_audited(CannedResponse)
