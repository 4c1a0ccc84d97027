"""parse_message on a corpus of real-world shaped mail, limits, and garbage bytes."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tickets.mail import parse
from tickets.mail.parse import ParsedMail, parse_message
from tickets.models import Ticket

CORPUS = Path(__file__).parent / "corpus"


def parsed(name: str) -> ParsedMail:
    return parse_message((CORPUS / name).read_bytes())


def test_multipart_alternative_gives_plain_text_and_sanitised_html() -> None:
    mail = parsed("multipart_alternative.eml")
    assert mail.message_id == "<3f1c9a2e-5b7d-4e11-9c2a-8d0f6e4b1a77@example.org>"
    assert (mail.from_name, mail.from_address) == ("Anna Schmidt", "anna.schmidt@example.org")
    assert mail.to == ["support@helpdesk.example.com"]
    assert mail.cc == ["bob@example.org"]
    assert mail.delivered_to == ["support@helpdesk.example.com"]
    assert mail.subject == "Drucker im 2. Stock druckt nur leere Seiten \u2013 dringend"
    assert mail.text.startswith("Hallo zusammen,\n\nder Drucker im 2. Stock druckt seit heute früh")
    assert "<b>früh</b>" in mail.html
    assert "<head>" not in mail.html and "<meta" not in mail.html
    assert mail.date == datetime(2024, 5, 14, 7, 11, 58, tzinfo=UTC)
    assert (mail.attachments, mail.auto_reply, mail.bounce) == ([], [], [])
    assert (mail.problems, mail.notes) == ([], [])


def test_html_only_mail_is_converted_to_text_and_sanitised() -> None:
    mail = parsed("html_only.eml")
    assert mail.text == (
        "Order 4711\n\nDear customer,\n\nyour order could not be delivered. Track it here "
        "<https://shop.example.net/t/4711> or there.\n\n- Item one\n\n- Item two\n\n"
        "Kind regards & thanks"
    )
    for hostile in ("<script", "alert", "onload", "javascript:", "<style", "tracker.example.net"):
        assert hostile not in mail.html
    assert '<a href="https://shop.example.net/t/4711" rel="noopener noreferrer">' in mail.html
    assert mail.problems == []


def test_winmail_dat_is_kept_as_an_attachment() -> None:
    mail = parsed("winmail_dat.eml")
    assert mail.text == "Guten Morgen,\n\nanbei das Angebot. Bitte um Rückmeldung.\n\nJonas\n"
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.content_type) == ("winmail.dat", "application/ms-tnef")
    assert attachment.data.startswith(b"\x78\x9f\x3e\x22")  # the TNEF signature
    assert not attachment.inline
    assert mail.problems == []


def test_iso_8859_1_encoded_words_and_body_are_decoded() -> None:
    mail = parsed("iso8859_headers.eml")
    assert mail.from_name == "Jürgen Müller"
    assert mail.subject == "Änderung der Rechnungsadresse für März"
    assert "Straße des 17. Juni 1, Göttingen" in mail.text
    assert mail.text.endswith("Mit freundlichen Grüßen\nJürgen Müller\n")
    assert (mail.problems, mail.notes) == ([], [])


def test_utf8_encoded_words_over_folded_lines_are_decoded() -> None:
    mail = parsed("utf8_encoded_words.eml")
    assert mail.from_name == "Анна Каренина"
    assert mail.subject == "VPN funktioniert nicht 😠 — Zürich office"
    assert 'Fehler: "Ошибка 809"…' in mail.text
    assert mail.date == datetime(2024, 5, 16, 14, 45, 10, tzinfo=UTC)


def test_german_outlook_reply_keeps_thread_headers_and_quoted_history() -> None:
    mail = parsed("outlook_german_reply.eml")
    assert mail.subject == "AW: Re: [T-000042] Zugang zum Laufwerk S:"
    assert mail.in_reply_to == (
        "<reply.42.0123456789abcdef.000000000000000000000000@helpdesk.example.com>"
    )
    assert mail.references == [
        "<ticket.42.fedcba9876543210.111111111111111111111111@helpdesk.example.com>",
        "<reply.42.0123456789abcdef.000000000000000000000000@helpdesk.example.com>",
    ]
    assert mail.thread_ids == [mail.in_reply_to, mail.references[0]]
    assert "\r" not in mail.text
    assert mail.text.startswith("Hallo,\n\ndanke, jetzt klappt es wieder.\n")
    assert "Gesendet: Freitag, 17. Mai 2024 10:05" in mail.text  # folded in display, not cut
    assert (mail.auto_reply, mail.problems) == ([], [])


def test_delivery_status_notification_names_the_failed_recipient() -> None:
    mail = parsed("bounce_dsn.eml")
    [recipient] = mail.bounce
    assert recipient.address == "gone.user@example.org"
    assert (recipient.action, recipient.status) == ("failed", "5.1.1")
    assert "User unknown" in recipient.diagnostic
    assert recipient.permanent
    assert mail.bounced_addresses == ["gone.user@example.org"]
    assert mail.is_automatic
    assert "sender mailer-daemon" in mail.auto_reply
    assert "null Return-Path" in mail.auto_reply
    assert [a.content_type for a in mail.attachments] == ["text/rfc822-headers"]
    assert mail.problems == []


def test_out_of_office_reply_is_automatic() -> None:
    mail = parsed("auto_reply.eml")
    assert mail.auto_reply == ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: all"]
    assert mail.bounce == []
    assert mail.problems == []


def test_mailing_list_message_is_automatic() -> None:
    mail = parsed("mailing_list.eml")
    assert mail.auto_reply == ["Precedence: list", "List-Id", "List-Unsubscribe"]
    assert mail.to == ["announce@lists.example.org"]
    assert mail.problems == []


def test_broken_boundary_is_quarantined_with_its_text_kept() -> None:
    mail = parsed("broken_boundary.eml")
    assert "malformed MIME: StartBoundaryNotFoundDefect" in mail.problems
    assert "Please find the invoice attached." in mail.text  # nothing lost for the reviewer
    assert mail.subject == "Invoice attached"


def test_nul_bytes_are_quarantined_and_never_reach_the_text() -> None:
    mail = parsed("nul_bytes.eml")
    assert "NUL bytes in the message" in mail.problems
    assert mail.text == "Page 1 of the scan\n"
    assert "\x00" not in mail.subject


def test_encoded_line_breaks_in_headers_are_an_injection_attempt() -> None:
    mail = parsed("header_injection.eml")
    assert "header injection attempt in Subject" in mail.problems
    assert "header injection attempt in From" in mail.problems
    assert mail.subject == "Hello Bcc: everyone@example.com"
    assert mail.from_name == "Mallory Bcc: victim@example.com"
    assert mail.from_address == "mallory@attacker.example"


def test_unknown_charset_is_decoded_with_replacement_and_noted() -> None:
    mail = parsed("unknown_charset.eml")
    assert mail.problems == []
    assert "unknown charset 'x-klingon'" in mail.notes
    assert mail.text == "Today is a good day to file a ticket.\ncaf\ufffd au lait\n"
    assert mail.subject == "Qapla\ufffd"


def test_inline_image_is_an_inline_attachment_and_html_keeps_its_cid() -> None:
    mail = parsed("inline_image.eml")
    [image] = mail.attachments
    assert (image.filename, image.content_type, image.inline) == ("error.png", "image/png", True)
    assert image.content_id == "<error.png@01DA>"
    assert image.data.startswith(b"\x89PNG")
    assert 'src="cid:error.png@01DA"' in mail.html
    assert mail.text == "See the screenshot:\n[image: error.png]\n"


def test_a_message_over_the_size_cap_is_quarantined_with_its_headers_read() -> None:
    raw = (CORPUS / "multipart_alternative.eml").read_bytes()
    mail = parse_message(raw, max_bytes=500)
    assert mail.problems == [f"message too large ({len(raw)} bytes, limit 500)"]
    assert mail.from_address == "anna.schmidt@example.org"
    assert mail.subject.startswith("Drucker im 2. Stock")
    assert (mail.text, mail.attachments) == ("", [])


def test_too_many_attachments_are_quarantined_and_capped() -> None:
    parts = "".join(
        f'--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="f{i}.bin"\n\nx\n'
        for i in range(12)
    )
    raw = f"From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n{parts}--b--\n"
    mail = parse_message(raw.encode(), max_attachments=10)
    assert mail.problems == ["too many attachments (12, limit 10)"]
    assert [a.filename for a in mail.attachments] == [f"f{i}.bin" for i in range(10)]


def test_limits_default_to_settings(settings: object) -> None:
    settings.MAIL_MAX_ATTACHMENTS = 1  # type: ignore[attr-defined]
    raw = (CORPUS / "winmail_dat.eml").read_bytes()
    assert parse_message(raw).problems == []
    settings.MAIL_MAX_MESSAGE_BYTES = 100  # type: ignore[attr-defined]
    assert parse_message(raw).problems[0].startswith("message too large")


def test_attachment_file_names_lose_their_path_and_control_characters() -> None:
    raw = (
        b"From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''..%5C..%2F.evil%0D%0A.pdf\n\n%PDF\n--b\n"
        b"Content-Type: application/pdf\nContent-Disposition: attachment\n\n%PDF\n--b--\n"
    )
    mail = parse_message(raw)
    assert [a.filename for a in mail.attachments] == ["evil .pdf", "attachment-2.pdf"]


def test_missing_and_multiple_senders_are_quarantined() -> None:
    assert "no valid From address" in parse_message(b"Subject: x\n\nhi\n").problems
    two = parse_message(b"From: a@example.org, b@example.org\n\nhi\n")
    assert "several From addresses" in two.problems
    twice = parse_message(b"From: a@example.org\nFrom: b@example.org\n\nhi\n")
    assert "several From headers" in twice.problems


def test_deep_mime_nesting_is_quarantined() -> None:
    depth = 60
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)
    )
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(depth)))
    mail = parse_message(f"From: a@example.org\n{head}Content-Type: text/plain\n\nx{tail}".encode())
    assert f"MIME parts nested deeper than {parse.MAX_DEPTH} levels" in mail.problems


def test_subject_is_capped_at_the_ticket_subject_length() -> None:
    assert Ticket._meta.get_field("subject").max_length == parse.SUBJECT_MAX_LENGTH
    mail = parse_message(b"From: a@example.org\nSubject: " + b"x" * 500 + b"\n\nhi\n")
    assert mail.subject == "x" * parse.SUBJECT_MAX_LENGTH


@pytest.mark.parametrize("seed", range(40))
def test_garbage_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    sources = sorted(CORPUS.glob("*.eml"))
    raw = bytearray(sources[seed % len(sources)].read_bytes())
    for _ in range(rng.randint(1, 60)):  # flip, insert and delete bytes
        if not raw:
            break
        position = rng.randrange(len(raw))
        action = rng.random()
        if action < 0.5:
            raw[position] = rng.randrange(256)
        elif action < 0.8:
            raw[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            del raw[position : position + rng.randint(1, 40)]
    random_bytes = bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000)))
    for sample in (bytes(raw), random_bytes, bytes(raw[: rng.randrange(len(raw) + 1)])):
        mail = parse_message(sample)
        assert isinstance(mail, ParsedMail)
        for text in (mail.subject, mail.from_name, mail.text, mail.html or ""):
            assert "\x00" not in text
            text.encode("utf-8")  # no lone surrogates: storable in PostgreSQL
        assert "\n" not in mail.subject and "\r" not in mail.from_name
