"""manage.py monitor alerts while more received mail than the threshold waits in quarantine."""

from __future__ import annotations

import pytest
from django.test import override_settings

from ops import monitor
from ops.health import check_mail_quarantine
from tests.mail.intake_helpers import message
from tickets import services

pytestmark = pytest.mark.django_db


@override_settings(MONITOR_MAIL_QUARANTINE_THRESHOLD=1)
def test_a_growing_quarantine_fails_the_rule() -> None:
    services.mail_receive(raw=message(to="nobody@example.com"))
    assert check_mail_quarantine().ok is True

    services.mail_receive(raw=message(to="nobody@example.com"))
    result = check_mail_quarantine()

    assert result.ok is False and result.value == 2
    assert "2 received mails wait in quarantine" in result.summary


@override_settings(MONITOR_MAIL_QUARANTINE_THRESHOLD=0)
def test_the_monitor_run_raises_the_alert() -> None:
    services.mail_receive(raw=message(to="nobody@example.com"))

    report = monitor.run(dry_run=True)

    assert "mail_quarantine" in {alert.check for alert in report.alerts}
