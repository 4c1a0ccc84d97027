"""Serving settings: pooled connections under gunicorn only, one request body cap."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.test import override_settings

from ticketsystem.env import ConfigError
from ticketsystem.serving import body_settings, database_config

URL = "postgres://app:pw@db.example:5432/tickets"


def test_gunicorn_gets_a_bounded_pool_of_one_connection_per_thread(monkeypatch):
    monkeypatch.setenv("TICKETSYSTEM_SERVER", "wsgi")
    monkeypatch.setenv("WEB_THREADS", "6")
    config = database_config(URL, conn_max_age=0)
    pool = config["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"]) == (1, 6)
    assert config["CONN_MAX_AGE"] == 0
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "3")
    assert database_config(URL, conn_max_age=0)["OPTIONS"]["pool"]["max_size"] == 3


@pytest.mark.parametrize("kind", ["asgi", "other"])
def test_daphne_and_commands_keep_per_request_connections(monkeypatch, kind):
    monkeypatch.setenv("TICKETSYSTEM_SERVER", kind)
    config = database_config(URL, conn_max_age=0)
    assert "pool" not in config.get("OPTIONS", {})
    assert config["CONN_MAX_AGE"] == 0


def test_the_pool_can_be_switched_off_and_refuses_a_persistent_max_age(monkeypatch):
    monkeypatch.setenv("TICKETSYSTEM_SERVER", "wsgi")
    with pytest.raises(ConfigError, match="DB_CONN_MAX_AGE must be 0 under gunicorn"):
        database_config(URL, conn_max_age=60)
    monkeypatch.setenv("DB_POOL", "off")
    config = database_config(URL, conn_max_age=60)
    assert "pool" not in config.get("OPTIONS", {}) and config["CONN_MAX_AGE"] == 60


def test_statements_are_prepared_unless_switched_off(monkeypatch):
    options = database_config(URL, conn_max_age=0)["OPTIONS"]
    assert options["server_side_binding"] is True and options["prepare_threshold"] == 5
    monkeypatch.setenv("DB_PREPARE", "off")
    assert "prepare_threshold" not in database_config(URL, conn_max_age=0).get("OPTIONS", {})


@pytest.mark.django_db
def test_a_statement_run_five_times_is_prepared_on_the_server():
    from django.db import connection

    from tickets.models import Queue

    for _ in range(6):
        list(Queue.objects.filter(slug="no-such-queue"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any('FROM "tickets_queue"' in statement for statement in statements)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_PREPARE", "maybe", "DB_PREPARE must be on or off"),
        ("TICKETSYSTEM_SERVER", "uwsgi", "TICKETSYSTEM_SERVER must be wsgi, asgi or other"),
        ("WEB_THREADS", "500", "WEB_THREADS must be at most 64"),
        ("WEB_THREADS", "many", "WEB_THREADS"),
    ],
)
def test_bad_serving_values_are_refused_with_a_reason(monkeypatch, name, value, message):
    monkeypatch.setenv("TICKETSYSTEM_SERVER", "wsgi")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        database_config(URL, conn_max_age=0)


def test_the_body_cap_defaults_to_one_attachment_plus_the_form_and_keeps_uploads_in_memory(
    monkeypatch,
):
    monkeypatch.delenv("REQUEST_MAX_BODY_BYTES", raising=False)
    found = body_settings(attachment_max_bytes=10 * 1024 * 1024)
    assert found["REQUEST_MAX_BODY_BYTES"] == 11 * 1024 * 1024
    assert found["FILE_UPLOAD_MAX_MEMORY_SIZE"] == found["REQUEST_MAX_BODY_BYTES"]
    assert found["FILE_UPLOAD_HANDLERS"] == ["tickets.uploads.CappedMemoryUploadHandler"]
    monkeypatch.setenv("REQUEST_MAX_BODY_BYTES", str(100 * 1024 * 1024))
    with pytest.raises(ConfigError, match="REQUEST_MAX_BODY_BYTES must be at most"):
        body_settings(attachment_max_bytes=10 * 1024 * 1024)


def test_a_body_over_the_cap_gets_413_before_any_view_reads_it(client, db):
    with override_settings(REQUEST_MAX_BODY_BYTES=1000):
        response = client.post(
            "/accounts/login/", data=b"x" * 1001, content_type="application/octet-stream"
        )
        assert response.status_code == 413
        assert response.content == b"Request body too large: at most 1000 bytes.\n"
        small = client.post("/accounts/login/", data={"username": "a"})
        assert small.status_code != 413


def test_the_wsgi_entry_point_serves_with_a_pool():
    code = (
        "import ticketsystem.wsgi; from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['pool']['max_size'])"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.strip() == "1"  # one connection for a sync worker (WEB_THREADS 1)


def test_a_loaded_app_is_frozen_out_of_the_garbage_collectors_scans():
    import gc

    from ticketsystem.serving import settle

    gc.unfreeze()
    try:
        settle()
        assert gc.get_freeze_count() > 10_000  # Django and the apps, not a handful
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("entry", ["ticketsystem.wsgi", "ticketsystem.asgi"])
def test_each_server_entry_point_settles_once_the_app_is_loaded(entry):
    import os

    code = f"import gc, {entry}; print(gc.get_freeze_count())"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10_000


@pytest.mark.django_db
def test_reads_inside_unprepared_are_never_prepared():
    from django.db import connection

    from tickets.models import Queue
    from ticketsystem.serving import unprepared

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            return cursor.fetchone()[0]

    def probe() -> None:  # a statement no other test runs
        for _ in range(8):
            list(Queue.objects.filter(name__startswith="unprepared-", slug__endswith="-probe"))

    before = prepared()
    with unprepared():
        probe()
    assert prepared() == before
    assert connection.connection.prepare_threshold == 5  # as it was, after the block
    probe()  # and outside it, the same statement is prepared
    assert prepared() == before + 1
