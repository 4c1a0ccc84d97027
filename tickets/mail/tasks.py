"""The mail send task, run by the task worker (`manage.py db_worker`) or, with the immediate
backend, right after the commit that queued it. The work is one service call."""

from __future__ import annotations

from django_tasks import task


@task()
def send_outbound_mail(mail_id: int) -> str:
    """Send one OutboundMail (tickets/services/mail_out.py records the outcome)."""
    from tickets.services.mail_out import outbound_send

    return outbound_send(mail_id)
