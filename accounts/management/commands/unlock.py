from __future__ import annotations

import ipaddress
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.lockout import normalise_username
from audit.events import record_event
from ticketsystem.clientip import network_of


class Command(BaseCommand):
    help = (
        "Lift login lockouts (django-axes): for a username (from every address), for an IP "
        "address (every username; an IPv6 address lifts its /64), or for one username + IP pair."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="username whose lockout to lift")
        parser.add_argument("--ip", help="only this client IP address (or all usernames from it)")

    def handle(self, *args: Any, username: str | None, ip: str | None, **options: Any) -> None:
        if username is None and ip is None:
            raise CommandError("name a username, an --ip address, or both")
        if ip is not None:
            try:
                ip = str(ipaddress.ip_address(ip.strip()))
            except ValueError:
                raise CommandError(f"{ip!r} is not an IP address") from None
            ip = network_of(ip)  # lockouts count an IPv6 client as its /64
        name = normalise_username(username) if username is not None else None
        if name == "":  # axes would take "no username" as "every username"
            raise CommandError("the username is empty: name one, or use --ip alone")
        count = AxesProxyHandler.reset_attempts(username=name, ip_address=ip)
        record_event(
            "lockout_cleared",
            username=name or "",
            resource=f"username:{name}" if name else f"ip:{ip}",
            details={"ip": ip, "records": count},
        )
        self.stdout.write(f"cleared {count} lockout record(s)")
