"""X-Forwarded-For counts only from configured proxies, read from the right."""

from __future__ import annotations

import ipaddress

import pytest

from labelstack.services.accounts.addresses import client_address

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize("peer,header,expected", [
    ("127.0.0.1", ["203.0.113.7"], "127.0.0.1"),  # loopback is not a proxy unless configured
    ("198.51.100.1", ["203.0.113.7"], "198.51.100.1"),
    ("10.0.0.2", ["203.0.113.7"], "203.0.113.7"),
    ("10.0.0.2", ["1.1.1.1, 203.0.113.7"], "203.0.113.7"),  # the client's own claim is ignored
    ("10.0.0.2", ["1.1.1.1", "203.0.113.7, 10.0.0.3"], "203.0.113.7"),  # two proxies, two lines
    ("10.0.0.2", ["203.0.113.7:4711"], "203.0.113.7"),
    ("::1", ["[2001:db8::5]:80"], "2001:db8::5"),
    ("10.0.0.2", ["1.1.1.1, unknown"], "10.0.0.2"),  # not an address: the proxy is the caller
    ("10.0.0.2", [], "10.0.0.2"),
    ("10.0.0.2", ["10.0.0.3"], "10.0.0.3"),  # only proxies: the farthest one
    ("testclient", ["203.0.113.7"], "testclient"),
])
def test_client_address(peer: str, header: list[str], expected: str) -> None:
    assert client_address(peer, header, PROXIES) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert client_address("10.0.0.2", ["203.0.113.7"], []) == "10.0.0.2"
