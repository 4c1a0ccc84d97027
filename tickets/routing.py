
websocket_urlpatterns: list = [
    # The live dashboard consumer is added by the live-dashboard work (issue 5).
]
