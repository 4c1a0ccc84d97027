"""The logging dictionary: plain console logs (each line with its request id, one traceback
per distinct error per minute), and the security log fail2ban reads."""

from __future__ import annotations

from typing import Any


def logging_config(*, level: str, security_log_file: str) -> dict[str, Any]:
    """LOGGING for settings: ``ticketsystem.security`` goes to ``security_log_file`` if set."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "security": {"format": "%(asctime)s %(message)s", "datefmt": "%Y-%m-%dT%H:%M:%S%z"},
        },
        "filters": {
            "request_id": {"()": "ticketsystem.logfilters.RequestIdFilter"},
            "repeats": {"()": "ticketsystem.logfilters.RepeatedTracebackFilter"},
            "one_line_refusals": {"()": "ticketsystem.logfilters.OneLineRefusals"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["request_id", "repeats"],
            },
            "security": (
                {
                    "class": "logging.handlers.WatchedFileHandler",
                    "filename": security_log_file,
                    "formatter": "security",
                }
                if security_log_file
                else {"class": "logging.StreamHandler", "formatter": "security"}
            ),
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            # An agent opening /admin/ is not an incident: one line, no traceback.
            "django.request": {
                "handlers": ["console"],
                "level": level,
                "propagate": False,
                "filters": ["one_line_refusals"],
            },
            # python-gnupg warns on every failed decrypt; our commands already say why in one line.
            "gnupg": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            "ticketsystem.security": {
                "handlers": ["security"],
                "level": "INFO",
                "propagate": False,
            },
        },
    }
