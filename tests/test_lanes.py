"""The test machinery itself: required programs fail loudly, the fast password hasher is used
except where a test asks for the real one, and files land in the right lane."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password

from tests.binaries import PACKAGES, find_binary, require_binary


def test_a_missing_program_fails_the_test_naming_its_package():
    with pytest.raises(pytest.fail.Exception) as failure:
        require_binary("no-such-program-ts", package="no-such-package")
    assert str(failure.value) == (
        "no-such-program-ts is not installed: apt-get install no-such-package (the test needs it)"
    )


def test_a_known_program_names_its_debian_package(monkeypatch):
    monkeypatch.setitem(PACKAGES, "no-such-dovecot-ts", "dovecot-imapd")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install dovecot-imapd \("):
        require_binary("no-such-dovecot-ts")


def test_an_installed_program_is_found_by_its_full_path():
    assert require_binary("sh").endswith("/sh")
    assert find_binary("no-such-program-ts") is None


def test_passwords_are_hashed_fast_in_tests():
    assert identify_hasher(make_password("a long passphrase 42")).algorithm == "md5"


@pytest.mark.real_hasher
def test_a_real_hasher_test_hashes_as_production_does():
    assert identify_hasher(make_password("a long passphrase 42")).algorithm == "argon2"


def test_an_argon2_hash_still_verifies_under_the_fast_hasher():
    from django.contrib.auth.hashers import check_password

    encoded = make_password("a long passphrase 42", hasher="argon2")
    assert check_password("a long passphrase 42", encoded)


@pytest.mark.parametrize(
    ("nodeid", "marks", "binaries"),
    [
        ("tests/browser/test_login_flow.py::test_x", {"browser", "real_hasher"}, {"chromium"}),
        ("tests/test_bad_input_sweep.py::test_x[a]", {"slow"}, set()),
        (
            "tests/ops/test_verifybackup_command.py::test_x",
            {"slow"},
            {"pg_dump", "pg_restore", "psql"},
        ),
        ("tests/ops/test_fail2ban_filter.py::test_it_matches_x", {"slow"}, {"fail2ban-regex"}),
        ("tests/ops/test_fail2ban_filter.py::test_the_jail_x", {"slow"}, set()),
        ("tests/tickets/test_list.py::test_x", set(), set()),
    ],
)
def test_the_lane_table_marks_files_by_path(nodeid, marks, binaries):
    from fnmatch import fnmatch

    from tests.conftest import MARKS, NEEDS

    found = {m for pattern, ms in MARKS.items() if fnmatch(nodeid, pattern) for m in ms}
    needed = {b for pattern, bs in NEEDS.items() if fnmatch(nodeid, pattern) for b in bs}
    assert (found, needed) == (marks, binaries)
