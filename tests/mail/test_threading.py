"""Signed Message-IDs, the subject's reference tag, and reply subjects."""

from __future__ import annotations

import re

import pytest

from tickets.mail.threading import (
    ForgedMessageIdError,
    inspect_message_ids,
    make_message_id,
    reference_from_subject,
    reply_subject,
    ticket_id_from_message_ids,
    ticket_id_from_subject,
)


def test_our_message_id_names_its_ticket() -> None:
    message_id = make_message_id(123, "helpdesk.example.com")
    assert re.fullmatch(
        r"<reply\.123\.[0-9a-f]{16}\.[0-9a-f]{24}@helpdesk\.example\.com>", message_id
    )
    assert ticket_id_from_message_ids([message_id]) == 123
    assert ticket_id_from_message_ids([message_id.strip("<>")]) == 123


def test_each_message_id_is_new() -> None:
    assert make_message_id(1, "example.com") != make_message_id(1, "example.com")


def test_a_changed_ticket_id_is_a_forgery() -> None:
    genuine = make_message_id(7, "helpdesk.example.com")
    forged = genuine.replace("<reply.7.", "<reply.8.")
    with pytest.raises(ForgedMessageIdError) as caught:
        ticket_id_from_message_ids([forged])
    assert caught.value.message_ids == [forged]


def test_a_hand_written_mac_is_a_forgery() -> None:
    forged = "<reply.42.0123456789abcdef.000000000000000000000000@helpdesk.example.com>"
    tokens = inspect_message_ids([forged])
    assert (tokens.ticket_ids, tokens.forged) == ([], [forged])
    with pytest.raises(ForgedMessageIdError):
        ticket_id_from_message_ids([forged])


def test_a_token_made_under_another_secret_key_is_a_forgery(settings: object) -> None:
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40  # type: ignore[attr-defined]
    other = make_message_id(5, "example.com")
    settings.SECRET_KEY = "the-real-secret-key-" + "y" * 40  # type: ignore[attr-defined]
    with pytest.raises(ForgedMessageIdError):
        ticket_id_from_message_ids([other])


def test_tokens_survive_a_secret_key_rotation(settings: object) -> None:
    old = "old-secret-key-" + "z" * 40
    settings.SECRET_KEY = old  # type: ignore[attr-defined]
    message_id = make_message_id(9, "example.com")
    settings.SECRET_KEY = "new-secret-key-" + "w" * 40  # type: ignore[attr-defined]
    settings.SECRET_KEY_FALLBACKS = [old]  # type: ignore[attr-defined]
    assert ticket_id_from_message_ids([message_id]) == 9


def test_foreign_message_ids_are_ignored() -> None:
    assert ticket_id_from_message_ids(["<CAF=x1yZ2@mail.example.com>", "junk", ""]) is None


def test_the_first_valid_token_wins_and_a_forged_one_beside_it_is_reported() -> None:
    first, second = make_message_id(3, "example.com"), make_message_id(4, "example.com", kind="ack")
    forged = first.replace("<reply.3.", "<reply.99.")
    assert ticket_id_from_message_ids([forged, first, second]) == 3
    assert inspect_message_ids([forged, first, second]).forged == [forged]


@pytest.mark.parametrize(
    ("ticket_id", "domain", "kind"),
    [(0, "example.com", "reply"), (1, "bad domain", "reply"), (1, "x>\r\nBcc: y", "reply"),
     (1, "example.com", "evil")],
)  # fmt: skip
def test_bad_arguments_are_refused(ticket_id: int, domain: str, kind: str) -> None:
    with pytest.raises(ValueError):
        make_message_id(ticket_id, domain, kind=kind)


@pytest.mark.parametrize(
    ("subject", "ticket_id"),
    [
        ("Re: [T-000123] Printer", 123),
        ("AW: Problem [T-1234567] mit dem Drucker", 1234567),
        ("[T-12345] too short", None),
        ("T-000123 without brackets", None),
        ("No tag at all", None),
    ],
)
def test_subject_tag_gives_the_ticket(subject: str, ticket_id: int | None) -> None:
    assert ticket_id_from_subject(subject) == ticket_id


def test_reference_from_subject_uses_the_ticket_reference_format() -> None:
    assert reference_from_subject("AW: [T-000042] Laufwerk") == "T-000042"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer broken", "Re: [T-000123] Printer broken"),
        ("Re: [T-000123] Printer broken", "Re: [T-000123] Printer broken"),
        ("AW: Re: [T-000123] Re: RE: Printer broken", "Re: [T-000123] Printer broken"),
        ("Re[2]: Aw(3): Sv: Printer", "Re: [T-000123] Printer"),
        ("Fwd: Printer", "Re: [T-000123] Fwd: Printer"),
        ("", "Re: [T-000123]"),
        ("Hello\r\nBcc: everyone@example.com", "Re: [T-000123] Hello Bcc: everyone@example.com"),
    ],
)
def test_reply_subject_never_piles_up_prefixes_or_tags(subject: str, expected: str) -> None:
    assert reply_subject(subject, "T-000123") == expected


def test_reply_subject_refuses_a_reference_of_another_shape() -> None:
    with pytest.raises(ValueError):
        reply_subject("x", "T-1\r\nBcc: y")
