"""split_reply finds the reply marker and keeps everything (reply + quoted == text)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tickets.mail.parse import parse_message
from tickets.mail.quoting import split_reply

REPLY = "Thanks, that fixed it.\n\n"


@pytest.mark.parametrize(
    "tail",
    [
        "On Mon, 13 May 2024 at 10:00, Support <support@example.com> wrote:\n> Try again.\n",
        "On Mon, 13 May 2024 at 10:00, Support Team of the Helpdesk <\nsupport@example.com> wrote:\n> Try again.\n",
        "Am 13.05.2024 um 10:00 schrieb Support <support@example.com>:\n> Bitte erneut.\n",
        "-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: x\n\nTry again.\n",
        "-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Montag\n\nBitte.\n",
        "From: Support <support@example.com>\nSent: Monday, May 13, 2024 10:00 AM\nTo: Anna\nSubject: RE: [T-000001] Printer\n\nTry again.\n",
        "________________________________\nVon: Support <support@example.com>\nGesendet: Montag, 13. Mai 2024 10:00\nAn: Anna\nBetreff: [T-000001] Drucker\n\nBitte.\n",
        "> Try again.\n> Regards\n\n",
        "-- \nAnna Schmidt\nAccounting\n",
        "--\nAnna Schmidt\n",
    ],
)
def test_it_splits_at_the_reply_marker(tail: str) -> None:
    split = split_reply(REPLY + tail)
    assert split == (REPLY, tail)


def test_signature_above_the_quote_starts_the_tail() -> None:
    text = "Works now.\n-- \nAnna\n\nOn Mon, Support wrote:\n> Try again.\n"
    assert split_reply(text) == (
        "Works now.\n",
        "-- \nAnna\n\nOn Mon, Support wrote:\n> Try again.\n",
    )


def test_text_without_a_marker_is_all_reply() -> None:
    text = "Hello,\n\nthe printer is broken. From: the third floor.\nOn the left.\n"
    assert split_reply(text) == (text, "")


def test_a_quote_in_the_middle_is_not_a_tail() -> None:
    text = "> Is it on?\nYes.\n> Is it plugged in?\nYes, it is.\n"
    assert split_reply(text) == (text, "")


def test_bottom_posted_reply_is_never_folded_away() -> None:
    text = "On Mon, Support wrote:\n> Try again.\n\nDone, it works now.\n"
    assert split_reply(text) == (text, "")


def test_crlf_line_endings_are_kept() -> None:
    text = "Danke.\r\n\r\nAm 13.05.2024 schrieb Support:\r\n> Bitte.\r\n"
    assert split_reply(text) == ("Danke.\r\n\r\n", "Am 13.05.2024 schrieb Support:\r\n> Bitte.\r\n")


def test_the_german_outlook_corpus_reply_is_split_above_von() -> None:
    raw = (Path(__file__).parent / "corpus" / "outlook_german_reply.eml").read_bytes()
    reply, quoted = split_reply(parse_message(raw).text)
    assert reply == "Hallo,\n\ndanke, jetzt klappt es wieder.\n\nViele Grüße\nKlaus Weber\n\n"
    assert quoted.startswith("________________________________\nVon: Support")


@pytest.mark.parametrize("seed", range(20))
def test_nothing_is_ever_lost(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        "hi",
        "> q",
        "-- ",
        "On x wrote:",
        "From: a",
        "Sent: b",
        "Subject: c",
        "",
        "\r",
        "\x0b",
    ]
    text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
    reply, quoted = split_reply(text)
    assert reply + quoted == text
