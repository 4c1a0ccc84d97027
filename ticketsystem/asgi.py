"""ASGI entry point: HTTP through Django, websockets through Channels (tickets/live/routing.py).

Websockets pass the Origin check first (in production the exact origins the site serves; a
foreign Origin is refused with close code 4403 and a security event, tickets/live/origin.py),
then get the session and user from the cookie; the consumer decides the rest (handshake
rates, socket caps, admission: tickets/live/consumer.py). In production nginx sends only /ws/
here; pages go to gunicorn (ticketsystem/wsgi.py). `make run` serves both.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("TICKETSYSTEM_SERVER", "asgi")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from ticketsystem.asgibody import keep_bodies_in_memory  # noqa: E402

# daphne would spool request bodies over 100 kB to a temporary file (ticketsystem/asgibody.py).
keep_bodies_in_memory(settings.REQUEST_MAX_BODY_BYTES)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from tickets.live.origin import AllowedHostsOriginValidator  # noqa: E402
from tickets.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

from ticketsystem.serving import settle  # noqa: E402

settle()
