"""WSGI entry point: the pages, served by gunicorn (ops/deploy/gunicorn.conf.py).

Websockets go to daphne (ticketsystem/asgi.py); nginx routes /ws/ there. Naming the server
kind first lets settings give this process a pooled set of database connections
(ticketsystem/serving.py).
"""

from __future__ import annotations

import os

os.environ["TICKETSYSTEM_SERVER"] = "wsgi"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")

from django.core.wsgi import get_wsgi_application

from ticketsystem.serving import settle

application = get_wsgi_application()
settle()
