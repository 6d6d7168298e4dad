"""Where a group's stream goes: one address/port shape and one validator for the server and the speakers.

A group is an IPv4 multicast address and an even RTP port (RTCP on port + 1). IPv6 groups are refused
here, and so by the API: the sender, the speaker agent and the SDP are IPv4-only, and a group accepted
at creation but failing at air time would be worse than a clear error when it is made.

Multicast policy (``check_multicast``): in 224.0.0.0/4, and not
- 224.0.0.0/24 (local network control: routers, mDNS, IGMP itself),
- 224.0.1.0/24 (internetwork control: NTP, SLP, ...),
- 232.0.0.0/8 (source-specific multicast: receivers must join per source; Loa's speakers join any
  source, so IGMPv3/SSM routers would drop the streams),
- 239.255.255.250 (SSDP) and 239.255.255.253 (SLP).
239.0.0.0/8 (administratively scoped) is what a private deployment should use.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_TTL = 16

_RESERVED = (
    (ipaddress.ip_network("224.0.0.0/24"), "224.0.0.0/24 local network control"),
    (ipaddress.ip_network("224.0.1.0/24"), "224.0.1.0/24 internetwork control"),
    (ipaddress.ip_network("232.0.0.0/8"), "232.0.0.0/8 source-specific multicast"),
    (ipaddress.ip_network("239.255.255.250/32"), "SSDP"),
    (ipaddress.ip_network("239.255.255.253/32"), "SLP"),
)


class GroupAddressError(ValueError):
    """One field of a group address is wrong: ``field`` is address, port, ttl or interface."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"group {field}: {message}")
        self.field = field
        self.message = message


def parse_ipv4(address: str, field: str = "address") -> ipaddress.IPv4Address:
    """An IPv4 address, or GroupAddressError saying why not (IPv6 named as unsupported)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        raise GroupAddressError(field, f"{address!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address):
        raise GroupAddressError(field, f"{ip}: IPv6 groups are not supported (sender and speakers are IPv4)")
    return ip


def check_multicast(address: str) -> str:
    """The address in canonical form if it is a usable IPv4 multicast group, else GroupAddressError."""
    if address == "":
        raise GroupAddressError("address", "empty")
    ip = parse_ipv4(address)
    if not ip.is_multicast:
        raise GroupAddressError("address", f"{ip} is not a multicast address")
    for net, why in _RESERVED:
        if ip in net:
            raise GroupAddressError("address", f"{ip} is reserved ({why})")
    return str(ip)


@dataclass(frozen=True, slots=True)
class GroupAddress:
    """An IPv4 group (multicast, or unicast for tests and point-to-point links): RTP on ``port``, RTCP
    on ``port + 1``, sent with ``ttl`` through ``interface`` (an IPv4 address; None: the routing table's)."""

    address: str
    port: int
    ttl: int = DEFAULT_TTL
    interface: str | None = None

    def __post_init__(self) -> None:
        parse_ipv4(self.address)
        if self.interface is not None:
            parse_ipv4(self.interface, "interface")
        if not 1 <= self.port <= 65534:
            raise GroupAddressError("port", f"{self.port} not in 1..65534 (RTCP uses port + 1)")
        if not 0 <= self.ttl <= 255:
            raise GroupAddressError("ttl", f"{self.ttl} not in 0..255")

    @property
    def rtp(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def rtcp(self) -> tuple[str, int]:
        return (self.address, self.port + 1)
