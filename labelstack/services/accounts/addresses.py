"""Which address a request comes from, for the login throttle and the logs.

A client can write any X-Forwarded-For it likes, so the header only counts when the direct
peer is a configured proxy (`LABELSTACK_TRUSTED_PROXIES`). Proxies append the address they
saw, so the chain is read from the right: the first hop that is not a trusted proxy is the
client. Entries to its left were written by the client itself and are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: `peer` itself unless it is a trusted proxy, else the rightmost
    untrusted address of `forwarded_for` (the header's values, in order). A hop that is not an
    address (garbage, "unknown") ends the walk at the last proxy that named it."""
    if not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    current = peer
    for hop in reversed([hop for hop in hops if hop]):
        address = _address(hop)
        if address is None:
            return current
        current = address
        if not _trusted(address, trusted):
            return address
    return current


def _address(hop: str) -> str | None:
    """An address as a proxy writes it: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80` or `::1`."""
    if hop.startswith("["):
        hop = hop[1:].partition("]")[0]
    elif hop.count(":") == 1:
        hop = hop.partition(":")[0]
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return None


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
