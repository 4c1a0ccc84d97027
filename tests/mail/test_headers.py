"""Header values from user data can never carry a line break."""

from __future__ import annotations

import pytest

from tickets.mail.headers import (
    HeaderValueError,
    clean_header_value,
    clean_message_id,
    format_address,
    message_ids,
    validate_address,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Hello\r\nBcc: x@example.com", "Hello Bcc: x@example.com"),
        ("  folded\n\t  subject  ", "folded subject"),
        ("nul\x00and\x7fdel\x85nel\u2028ls", "nul and del nel ls"),
        ("lone \udce9 surrogate", "lone \ufffd surrogate"),
    ],
)
def test_clean_header_value_gives_one_clean_line(value: str, expected: str) -> None:
    assert clean_header_value(value) == expected


def test_clean_header_value_caps_the_length() -> None:
    assert clean_header_value("x" * 2000) == "x" * 998
    assert clean_header_value("word " * 10, max_length=12) == "word word wo"


def test_validate_address_accepts_one_address_and_lowers_the_domain() -> None:
    assert validate_address(" Anna.Schmidt@Example.ORG ") == "Anna.Schmidt@example.org"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "anna@example.org\r\nBcc: x@example.com",
        "anna@example.org, bob@example.org",
        "Anna <anna@example.org>",
        "not an address",
        "anna@",
        "a" * 250 + "@example.org",
        None,
    ],
)
def test_validate_address_refuses_anything_else(value: str) -> None:
    with pytest.raises(HeaderValueError):
        validate_address(value)


def test_format_address_encodes_the_name_safely() -> None:
    assert format_address("anna@example.org", "Anna Schmidt") == "Anna Schmidt <anna@example.org>"
    assert format_address("a@example.org", "Weber, Klaus") == '"Weber, Klaus" <a@example.org>'
    injected = format_address("a@example.org", "Evil\r\nBcc: x@example.com")
    assert "\r" not in injected and "\n" not in injected
    with pytest.raises(HeaderValueError):
        format_address("a@example.org\nBcc: x@example.com", "Anna")


def test_message_ids_are_extracted_in_order_without_repeats() -> None:
    value = "<a@x> junk <b@y>\r\n <a@x> <bad id@z> <c@z>"
    assert message_ids(value) == ["<a@x>", "<b@y>", "<c@z>"]
    assert message_ids("<1@x> <2@x> <3@x>", limit=2) == ["<1@x>", "<2@x>"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.org>", "<abc@example.org>"),
        ("  abc@example.org ", "<abc@example.org>"),
        ("garbage", None),
        ("<a\r\nb@x>", None),
        ("<" + "x" * 300 + "@x>", None),
    ],
)
def test_clean_message_id(value: str, expected: str | None) -> None:
    assert clean_message_id(value) == expected
