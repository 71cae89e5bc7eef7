"""One person must not become many by spelling their address anew, nor by their next IPv6."""

from __future__ import annotations

import pytest

from boxoffice.auth.buyer_identity import buyer_key, client_key, client_network, normalised_email


@pytest.mark.parametrize(
    "spelling",
    ["cap@example.com", "Cap+1@Example.com", "c.a.p+x@example.com", " CAP@example.com. "],
)
def test_spellings_of_one_mailbox_are_one(spelling: str) -> None:
    assert normalised_email(spelling) == "cap@example.com"


def test_other_mailboxes_stay_apart() -> None:
    assert normalised_email("cap@example.org") != normalised_email("cap@example.com")
    assert normalised_email("cap2@example.com") != normalised_email("cap@example.com")
    assert normalised_email("x@googlemail.com") == "x@gmail.com"
    assert normalised_email("+tag@example.com") == "+tag@example.com"


def test_buyer_keys() -> None:
    assert buyer_key("alice", "whatever@example.com") == "sub:alice"
    assert buyer_key(None, "A.da+shop@Example.com") == "email:ada@example.com"


def test_client_networks() -> None:
    assert client_network("203.0.113.7") == "203.0.113.7"
    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:bbbb::9")
    assert client_network("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_network("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_network("testclient") == "testclient"


def test_client_keys_are_keyed_hashes() -> None:
    key = client_key(b"secret", "203.0.113.7")
    assert "203" not in key and len(key) == 32
    assert key == client_key(b"secret", "203.0.113.7")
    assert key != client_key(b"other", "203.0.113.7")
