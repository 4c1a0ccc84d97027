"""manage.py generatekey prints keys the configuration accepts."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ticketsystem.cipher import parse_blind_index_key, parse_keyring


def run(*args: str) -> str:
    out = StringIO()
    call_command("generatekey", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_keyring_entry_the_settings_accept():
    entry = run("--id", "k2027")
    ring = parse_keyring(entry)
    assert ring.current_id == "k2027"
    assert len(ring.current_key) == 32


def test_each_key_is_new():
    assert run() != run()


def test_raw_keys_fit_the_blind_index_and_audit_settings():
    assert len(parse_blind_index_key(run("--raw"))) == 32


@pytest.mark.parametrize("args", [("--id", "bad id"), ("--id", "x" * 33), ("--raw", "--id", "k1")])
def test_it_refuses_bad_options(args):
    with pytest.raises(CommandError):
        run(*args)
