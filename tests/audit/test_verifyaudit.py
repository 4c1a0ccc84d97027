"""manage.py verifyaudit: edited, deleted and inserted rows are each detected, naming the
first bad row; the heads anchored outside the table (monitor state, backup manifests) or a
checkpoint catch rows cut off the end."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.chain import verify_chain
from audit.events import GENESIS, record_event
from audit.models import SecurityEvent


@pytest.fixture(autouse=True)
def anchors_elsewhere(settings, tmp_path):
    """A fresh monitor state file and an empty backup directory: no anchor from other tests."""
    settings.MONITOR_STATE_FILE = tmp_path / "monitor-state.json"
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings


@pytest.fixture
def chain(db):
    events = [
        record_event("login_failed", username=f"user{n}", ip=f"192.0.2.{n}") for n in range(1, 7)
    ]
    return {event.seq: event for event in events}


def as_db_owner(sql: str, params: list) -> None:
    """What only someone with owner rights can do: switch the trigger off, then tamper."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_securityevent DISABLE TRIGGER audit_securityevent_append_only"
        )
        cursor.execute(sql, params)
        cursor.execute(
            "ALTER TABLE audit_securityevent ENABLE TRIGGER audit_securityevent_append_only"
        )


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verifyaudit", *args, stdout=out)
    return out.getvalue()


def test_an_intact_chain_verifies(chain):
    assert (
        verify() == "audit chain OK: 6 events verified, last seq 6; head matches no anchor found\n"
    )


def test_an_empty_chain_verifies(db):
    assert "0 events verified" in verify()


def test_an_edited_row_is_named(chain):
    as_db_owner("UPDATE audit_securityevent SET ip = '203.0.113.66' WHERE seq = 3", [])
    with pytest.raises(CommandError, match=r"BROKEN at seq 3: row content does not match its HMAC"):
        verify()


def test_an_edited_detail_is_named(chain):
    as_db_owner("""UPDATE audit_securityevent SET details = '{"x": 1}' WHERE seq = 5""", [])
    with pytest.raises(CommandError, match=r"BROKEN at seq 5"):
        verify()


def test_a_deleted_row_is_named(chain):
    as_db_owner("DELETE FROM audit_securityevent WHERE seq = 4", [])
    with pytest.raises(
        CommandError, match=r"BROKEN at seq 4: row 4 is missing \(deleted\); the next row is 5"
    ):
        verify()


def test_a_deleted_and_renumbered_tail_is_caught_by_its_links(chain):
    as_db_owner("DELETE FROM audit_securityevent WHERE seq = 4", [])
    as_db_owner("UPDATE audit_securityevent SET seq = seq - 1 WHERE seq > 4", [])
    with pytest.raises(CommandError, match=r"BROKEN at seq 4"):
        verify()


def test_an_inserted_row_is_named(chain):
    # A forger without AUDIT_HMAC_KEY can only guess the hash; they even link it correctly.
    as_db_owner(
        "INSERT INTO audit_securityevent (seq, created_at, actor_username, action, resource, details, "
        "user_agent, request_id, prev_hash, hash) VALUES (7, now(), 'root', 'logout', '', '{}', '', '', %s, %s)",
        [chain[6].hash, "f" * 64],
    )
    with pytest.raises(CommandError, match=r"BROKEN at seq 7: row content does not match its HMAC"):
        verify()


def test_a_row_inserted_in_the_middle_is_named(chain):
    as_db_owner("UPDATE audit_securityevent SET seq = seq + 100 WHERE seq > 3", [])
    as_db_owner("UPDATE audit_securityevent SET seq = seq - 99 WHERE seq > 100", [])
    as_db_owner(
        "INSERT INTO audit_securityevent (seq, created_at, actor_username, action, resource, details, "
        "user_agent, request_id, prev_hash, hash) VALUES (4, now(), 'root', 'logout', '', '{}', '', '', %s, %s)",
        [chain[3].hash, "0" * 64],
    )
    with pytest.raises(CommandError, match=r"BROKEN at seq 4"):
        verify()


def test_a_swapped_link_is_named(chain):
    as_db_owner("UPDATE audit_securityevent SET prev_hash = %s WHERE seq = 2", [GENESIS])
    with pytest.raises(CommandError, match=r"BROKEN at seq 2: link to the previous row is broken"):
        verify()


def test_verify_chain_reports_the_same_row(chain):
    as_db_owner("UPDATE audit_securityevent SET actor_username = 'nobody' WHERE seq = 2", [])
    result = verify_chain()
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 1, 2)


def test_a_checkpoint_catches_rows_cut_off_the_end(chain, tmp_path):
    checkpoint = tmp_path / "audit.checkpoint"
    verify("--checkpoint", str(checkpoint))
    assert json.loads(checkpoint.read_text())["seq"] == 6
    assert oct(checkpoint.stat().st_mode & 0o777) == "0o600"
    record_event("logout", username="user1")
    verify("--checkpoint", str(checkpoint))
    assert json.loads(checkpoint.read_text())["seq"] == 7
    as_db_owner("DELETE FROM audit_securityevent WHERE seq >= 6", [])
    assert verify_chain().ok  # the shorter chain is valid on its own...
    with pytest.raises(CommandError, match=r"BROKEN at seq 7: the checkpointed row is missing"):
        verify("--checkpoint", str(checkpoint))  # ...but not against the checkpoint


def test_an_unreadable_checkpoint_is_a_one_line_error(chain, tmp_path):
    checkpoint = tmp_path / "bad"
    checkpoint.write_text("not json")
    with pytest.raises(CommandError, match="cannot read checkpoint"):
        verify("--checkpoint", str(checkpoint))


@pytest.mark.parametrize("size", ["0", str(10**30)])
def test_a_batch_size_out_of_range_is_a_one_line_error(chain, size):
    # 10**30 used to reach the database as LIMIT and fail there with a traceback.
    with pytest.raises(CommandError, match="--batch-size must be between 1 and"):
        verify("--batch-size", size)


def anchor_in_monitor_state(settings, event) -> None:
    settings.MONITOR_STATE_FILE.write_text(
        json.dumps({"audit_head": {"seq": event.seq, "hash": event.hash}})
    )


def test_an_emptied_table_is_caught_by_the_monitor_state_anchor(chain, anchors_elsewhere):
    anchor_in_monitor_state(anchors_elsewhere, chain[6])
    assert "head matches the monitor state (seq 6)" in verify()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_securityevent")
    with pytest.raises(
        CommandError,
        match=r"BROKEN: the chain is empty but the monitor state "
        r"recorded seq 6: rows were cut off its end \(or the table was emptied\)$",
    ):
        verify()


def test_a_missing_tail_is_caught_with_no_flags(chain, anchors_elsewhere):
    anchor_in_monitor_state(anchors_elsewhere, chain[6])
    as_db_owner("DELETE FROM audit_securityevent WHERE seq >= 5", [])
    with pytest.raises(
        CommandError, match=r"the chain ends at seq 4 but the monitor state recorded seq 6"
    ):
        verify()


def test_a_rewritten_anchored_row_is_caught(chain, anchors_elsewhere):
    anchors_elsewhere.MONITOR_STATE_FILE.write_text(
        json.dumps({"audit_head": {"seq": 6, "hash": "f" * 64}})
    )
    with pytest.raises(
        CommandError, match=r"row 6 differs from the one the monitor state recorded"
    ):
        verify()


@pytest.mark.parametrize("content", ["{", "[]", '{"audit_head": {"seq": "6", "hash": 1}}'])
def test_a_damaged_state_file_is_no_anchor(chain, anchors_elsewhere, content):
    anchors_elsewhere.MONITOR_STATE_FILE.write_text(content)
    assert "no anchor found" in verify()


def test_after_a_deliberate_older_restore_reanchor_sets_the_newer_anchors_aside(
    chain, anchors_elsewhere
):
    anchor_in_monitor_state(anchors_elsewhere, chain[6])
    as_db_owner("DELETE FROM audit_securityevent WHERE seq >= 5", [])  # the older set's chain
    with pytest.raises(CommandError, match="the chain ends at seq 4"):
        verify()

    assert verify("--reanchor", "restored the 02:00 set after a disk failure") == (
        "audit chain re-anchored at seq 4; set aside: the monitor state (seq 6)\n"
    )

    event = SecurityEvent.objects.get(action="audit_reanchored")
    assert event.seq == 5 and event.actor_username.startswith("cli")
    assert event.details["reason"] == "restored the 02:00 set after a disk failure"
    assert "head matches no anchor found" in verify()  # the set-aside anchor is not compared
    record_event("logout", username="user1")  # seq 6 again, with another hash
    assert "6 events verified" in verify()
    assert verify("--reanchor", "a second time, nothing to do") == (
        "nothing to re-anchor: the chain matches every anchor\n"
    )
    assert SecurityEvent.objects.filter(action="audit_reanchored").count() == 1


def test_a_new_anchor_after_reanchoring_is_compared_again(chain, anchors_elsewhere):
    anchor_in_monitor_state(anchors_elsewhere, chain[6])
    as_db_owner("DELETE FROM audit_securityevent WHERE seq >= 5", [])
    verify("--reanchor", "restored the 02:00 set after a disk failure")
    newest = record_event("logout", username="user1")
    anchor_in_monitor_state(anchors_elsewhere, newest)
    as_db_owner("DELETE FROM audit_securityevent WHERE seq >= %s", [newest.seq])

    with pytest.raises(CommandError, match=f"recorded seq {newest.seq}"):
        verify()


@pytest.mark.parametrize("reason", ["", "short", "x" * 201])
def test_reanchor_needs_a_reason(chain, reason):
    with pytest.raises(CommandError, match="give the reason in 10 to 200 characters"):
        verify("--reanchor", reason)


def test_a_broken_chain_is_not_reanchored(chain, anchors_elsewhere):
    as_db_owner("UPDATE audit_securityevent SET ip = '203.0.113.66' WHERE seq = 3", [])
    with pytest.raises(CommandError, match=r"BROKEN at seq 3: .*cannot be re-anchored"):
        verify("--reanchor", "hide the edited row please")
    assert not SecurityEvent.objects.filter(action="audit_reanchored").exists()
