"""Websocket routes (wrapped by ticketsystem/asgi.py in the Origin check and session auth)."""

from __future__ import annotations

from django.urls import path

from tickets.live.consumer import DashboardConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi(), name="ws_dashboard"),
]
