"""The caller's address, as the failed-verification budget counts callers."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from chronicle import contract
from chronicle.config import IPNetwork


def client_address(
    peer: str, metadata: Iterable[tuple[str, str | bytes]], trusted: tuple[IPNetwork, ...]
) -> str:
    """The gRPC peer's address or, when the peer is a trusted proxy (an edge), the HTTP
    client's address it forwards."""
    forwarded = next((str(v) for k, v in metadata if k == contract.CLIENT_ADDRESS_METADATA), "")
    return _client_address(peer.rpartition(":")[0], forwarded, trusted)


@functools.lru_cache(maxsize=4096)  # a few peers and clients, met over and over
def _client_address(peer: str, forwarded: str, trusted: tuple[IPNetwork, ...]) -> str:
    """`peer` without its port ("ipv4:10.0.0.1", "ipv6:[::1]", "unix:…")."""
    kind, _, host = peer.partition(":")
    host = host.strip("[]") if kind in ("ipv4", "ipv6") else peer
    try:
        peer_ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if forwarded and any(peer_ip in network for network in trusted):
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return str(peer_ip)
