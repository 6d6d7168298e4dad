"""What a publisher may point the server at as a live source (docs/LIVE.md, "URL policy").

A live source URL makes the server open connections of its own, so a publisher could use it to read the
server's files or probe its internal network. Accepted:

- schemes ``http``, ``https`` (Icecast/SHOUTcast, HLS, and an SDP file that describes an RTP source),
  ``rtsp``, ``rtsps``; nothing else (no ``file:``, local paths, ``data:``, ``udp:``, ``rtp:`` or FFmpeg's
  nesting protocols such as ``concat:``, ``subfile:``, ``async:``);
- a host whose every address is global unicast. Loopback, private (RFC 1918, fc00::/7), shared
  (100.64/10), link-local, unspecified, reserved, documentation and multicast addresses are refused unless
  the host name or a CIDR containing the address is in the server's allow-list (``live_allowed_hosts``);
  the name is resolved and every address checked, so a public name for 127.0.0.1 is refused too;
- in an SDP, each connection address (``c=``) is checked the same way (the receiver sends RTCP there),
  except that multicast groups outside 224.0.0.0/24 are accepted: joining a group only receives.

Limits of the check (docs/LIVE.md): FFmpeg resolves the name again when it connects, follows HTTP
redirects, and HLS playlists name further URLs; those are not re-checked here.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SCHEMES = ("http", "https", "rtsp", "rtsps")
DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}
MAX_URL = 2048
MAX_SDP = 16_384

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]  # (host, port) → its addresses

NOT_LISTED = "the server's live_allowed_hosts does not list it"
LOCAL_MULTICAST = ipaddress.ip_network("224.0.0.0/24")


@dataclass(frozen=True)
class UrlPolicy:
    """The server's allow-list: host names (exact, any case) and networks that may be reached."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, entries: Iterable[str], name: str = "live_allowed_hosts") -> UrlPolicy:
        hosts: set[str] = set()
        nets: list[Network] = []
        for i, entry in enumerate(entries):
            entry = entry.strip()
            if not entry:
                raise ValueError(f"{name}[{i}]: empty")
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not re.fullmatch(r"[A-Za-z0-9.-]+", entry):
                    raise ValueError(f"{name}[{i}]: {entry!r} is neither a host name nor a CIDR") from None
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(nets))

    def allows(self, address: Address) -> bool:
        return any(address in net for net in self.networks)


@dataclass(frozen=True)
class LiveUrl:
    url: str
    scheme: str
    host: str
    port: int


def parse_url(url: str, name: str = "live.url") -> LiveUrl:
    """The URL's scheme, host and port, or ValueError naming ``name`` (no name resolution here)."""
    if not url:
        raise ValueError(f"{name}: empty")
    if len(url) > MAX_URL:
        raise ValueError(f"{name}: longer than {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError(f"{name}: contains spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        what = f"scheme {scheme + ':'!r}" if scheme else "a local path or a URL without a scheme"
        raise ValueError(f"{name}: {what} is not accepted (only {', '.join(SCHEMES)})")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise ValueError(f"{name}: bad port ({e})") from None
    if not host:
        raise ValueError(f"{name}: no host")
    return LiveUrl(url, scheme, host.lower().rstrip("."), port or DEFAULT_PORTS[scheme])


def refusal(address: Address) -> str | None:
    """Why the server must not connect to ``address`` on a publisher's word, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped)
    for test, what in (
        ("is_loopback", "a loopback address"),
        ("is_unspecified", "an unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private (internal) address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return what
    if not address.is_global:
        return "not a global address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_host(
    host: str, port: int, policy: UrlPolicy, name: str = "live.url", resolve: Resolver = system_resolver
) -> list[str]:
    """The host's addresses, all allowed; ValueError naming ``name`` if one is not.
    OSError if the name does not resolve (a fault of the source, not of the request)."""
    if host in policy.hosts:
        return resolve(host, port)
    addresses = resolve(host, port)
    if not addresses:
        raise OSError(f"{host} has no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])
        why = refusal(address)
        if why is not None and not policy.allows(address):
            shown = host if host == str(address) else f"{host} ({address})"
            raise ValueError(f"{name}: {shown} is {why}; {NOT_LISTED}")
    return addresses


def check_url(
    url: str,
    policy: UrlPolicy,
    name: str = "live.url",
    resolve: Resolver | None = system_resolver,
) -> LiveUrl:
    """A URL a publisher may point the server at (module docstring). With ``resolve`` None only its
    form is checked (at submission, when the source's DNS may not be up yet); the relay checks again
    with resolution each time it connects."""
    parsed = parse_url(url, name)
    literal = _literal(parsed.host)
    if literal is not None:
        why = refusal(literal)
        if why is not None and not policy.allows(literal) and parsed.host not in policy.hosts:
            raise ValueError(f"{name}: {parsed.host} is {why}; {NOT_LISTED}")
    elif _is_localhost(parsed.host) and parsed.host not in policy.hosts:
        raise ValueError(f"{name}: {parsed.host} is a loopback address; {NOT_LISTED}")
    if resolve is not None and literal is None:
        check_host(parsed.host, parsed.port, policy, name, resolve)
    return parsed


def check_sdp(text: str, policy: UrlPolicy, name: str = "live.url") -> None:
    """An SDP's connection addresses (``c=``) are allowed (module docstring); ValueError if not."""
    if len(text) > MAX_SDP:
        raise ValueError(f"{name}: the SDP is longer than {MAX_SDP} bytes")
    if not text.startswith("v=0"):
        raise ValueError(f"{name}: not an SDP (it must begin with v=0)")
    found = False
    for line in text.splitlines():
        if not line.startswith("c="):
            continue
        fields = line[2:].split()
        if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
            raise ValueError(f"{name}: the SDP line {line!r} is not 'c=IN IP4|IP6 address'")
        address = _literal(fields[2].split("/")[0])
        if address is None:
            raise ValueError(f"{name}: the SDP connection address {fields[2]!r} is not an IP address")
        found = True
        if address.is_multicast and address not in LOCAL_MULTICAST:
            continue
        why = refusal(address)
        if why is not None and not policy.allows(address):
            raise ValueError(f"{name}: the SDP's connection address {address} is {why}; {NOT_LISTED}")
    if not found:
        raise ValueError(f"{name}: the SDP has no connection address (c=)")


def _is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
