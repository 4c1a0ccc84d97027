"""AES-256-GCM values: format, key ids, associated data and every way decryption must fail."""

from __future__ import annotations

import base64

import pytest

from tests.helpers import flip_bit
from ticketsystem.cipher import (
    DecryptionError,
    KeyringError,
    blind_index,
    decrypt,
    decrypt_bytes,
    encrypt,
    encrypt_bytes,
    generate_key,
    key_id_of,
    parse_keyring,
)

K1, K2 = generate_key(), generate_key()
RING = parse_keyring(f"new:{K1},old:{K2}")
AAD = b"tickets.ticket.description:0f2e"


def test_a_value_carries_format_version_and_current_key_id():
    token = encrypt("secret", aad=AAD, keyring=RING)
    assert token.startswith("$v1$new$")
    assert key_id_of(token) == "new"
    assert "secret" not in token


def test_it_round_trips_text_and_uses_a_fresh_nonce_each_time():
    first = encrypt("héllo ✓", aad=AAD, keyring=RING)
    second = encrypt("héllo ✓", aad=AAD, keyring=RING)
    assert first != second
    assert decrypt(first, aad=AAD, keyring=RING) == "héllo ✓"


def test_an_old_key_still_decrypts_its_values():
    old_ring = parse_keyring(f"old:{K2}")
    token = encrypt("kept", aad=AAD, keyring=old_ring)
    assert decrypt(token, aad=AAD, keyring=RING) == "kept"


def test_it_fails_with_a_wrong_key_under_the_same_id():
    token = encrypt("secret", aad=AAD, keyring=RING)
    impostor = parse_keyring(f"new:{generate_key()}")
    with pytest.raises(DecryptionError, match="authentication failed"):
        decrypt(token, aad=AAD, keyring=impostor)


def test_it_fails_on_a_flipped_bit():
    token = encrypt("secret", aad=AAD, keyring=RING)
    with pytest.raises(DecryptionError, match="authentication failed"):
        decrypt(flip_bit(token), aad=AAD, keyring=RING)


def test_it_fails_when_moved_to_another_field_or_row():
    token = encrypt("secret", aad=AAD, keyring=RING)
    for other in (b"tickets.contact.email:0f2e", b"tickets.ticket.description:9999"):
        with pytest.raises(DecryptionError, match="moved"):
            decrypt(token, aad=other, keyring=RING)


def test_it_names_an_unknown_key_id():
    token = encrypt("secret", aad=AAD, keyring=RING).replace("$new$", "$gone$", 1)
    with pytest.raises(DecryptionError, match="unknown key id 'gone'"):
        decrypt(token, aad=AAD, keyring=RING)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("plain text", "not an encrypted value"),
        ("$v2$new$AAAA", "unknown format version v2"),
        ("$v1$new$", "not an encrypted value"),
        ("$v1$new$" + base64.urlsafe_b64encode(b"short").decode(), "truncated value"),
        ("$v1$new$!!!", "not an encrypted value"),
        ("$v1$new$AAAAA", "malformed value"),  # a base64 length no encoder makes
    ],
)
def test_it_rejects_plaintext_unknown_versions_and_truncated_values(token, reason):
    with pytest.raises(DecryptionError, match=reason):
        decrypt(token, aad=AAD, keyring=RING)


def test_binary_values_round_trip_and_fail_closed():
    token = encrypt_bytes(b"\x00\x01binary", aad=AAD, keyring=RING)
    assert token.startswith(b"$v1$new$")
    assert key_id_of(token) == "new"
    assert decrypt_bytes(token, aad=AAD, keyring=RING) == b"\x00\x01binary"
    tampered = bytearray(token)
    tampered[-1] ^= 0x80
    with pytest.raises(DecryptionError):
        decrypt_bytes(bytes(tampered), aad=AAD, keyring=RING)
    with pytest.raises(DecryptionError):
        decrypt_bytes(token, aad=b"other", keyring=RING)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "no keys configured"),
        ("justakey", "id:base64key"),
        ("a b:" + K1, "id:base64key"),
        ("k1:not-base64!!", "not valid base64"),
        ("k1:" + base64.urlsafe_b64encode(b"x" * 16).decode(), "32 bytes"),
        (f"k1:{K1},k1:{K2}", "appears twice"),
        (f"k1:{K1},k2:{K1}", "repeats another key"),
    ],
)
def test_it_refuses_malformed_keyrings(raw, message):
    with pytest.raises(KeyringError, match=message):
        parse_keyring(raw)


def test_the_first_key_is_current_and_newlines_separate_entries_too():
    ring = parse_keyring(f"\n a:{K1}\n\nb:{K2}\n")
    assert ring.current_id == "a"
    assert set(ring.keys) == {"a", "b"}


def test_blind_index_is_normalised_keyed_and_purpose_bound():
    key = base64.urlsafe_b64decode(K1)
    assert blind_index(" Ann@Example.org ", purpose="p", key=key) == blind_index(
        "ann@example.org", purpose="p", key=key
    )
    assert blind_index("ann@example.org", purpose="p", key=key) != blind_index(
        "ann@example.org", purpose="q", key=key
    )
    assert blind_index("ann@example.org", purpose="p", key=key) != blind_index(
        "ann@example.org", purpose="p", key=base64.urlsafe_b64decode(K2)
    )
