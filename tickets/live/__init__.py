"""The realtime layer: origin check, admission, hub, consumer and event publishing."""
