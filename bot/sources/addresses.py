"""Which addresses a feed or an article may be fetched from (a guard against server-side request forgery).

A source's address is typed by an admin, and a feed's item links and redirects by whoever writes the feed:
either could point the bot at a cloud's metadata service (credentials) or at a service on the bot's own
network. Link-local and cloud-metadata addresses are never fetched; private, loopback and other internal
ones only while SOURCES_ALLOW_PRIVATE is true (the default: feed servers on the same machine or the LAN
are common, and the tests serve theirs on loopback).

The check is made on the addresses the connection uses, after DNS: the HTTP session resolves names through
`GuardedResolver`, which keeps only allowed addresses (so a name resolving to a public and a metadata
address connects to the public one only, and a name rebound between two lookups is checked each time), and a
URL whose host is an IP literal (which skips the resolver) is checked before any request. Every redirect hop
goes through both, as it is a request of its own.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from enum import StrEnum

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.sources.errors import FetchError, FetchReason

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never: instance metadata services (AWS, GCP, Azure, OpenStack at 169.254.169.254; Alibaba; AWS's IPv6 one)
# and link-local addresses as a whole.
_ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("100.100.100.200/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)


class AddressKind(StrEnum):
    METADATA = "metadata"  # link-local or a cloud's metadata service: never fetched
    PRIVATE = "private"  # private, loopback, shared (CGNAT), reserved: fetched only when allowed


class ForbiddenAddress(OSError):
    """Raised by the resolver: aiohttp wraps an OSError of the lookup in ClientConnectorError."""

    def __init__(self, host: str, address: str, kind: AddressKind) -> None:
        super().__init__(f"{host} resolves to {address} ({kind.value})")
        self.host = host
        self.address = address
        self.kind = kind

    def fetch_error(self) -> FetchError:
        return FetchError(FetchReason.FORBIDDEN_ADDRESS, address=self.address, kind=self.kind.value)


def kind_of(address: IPAddress) -> AddressKind | None:
    """Why `address` is internal (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if any(address in network for network in _ALWAYS_REFUSED):
        return AddressKind.METADATA
    if not address.is_global or address.is_multicast:
        return AddressKind.PRIVATE
    return None


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = True

    def refusal(self, address: IPAddress) -> AddressKind | None:
        kind = kind_of(address)
        if kind is AddressKind.PRIVATE and self.allow_private:
            return None
        return kind

    def check_literal(self, host: str) -> None:
        """A URL's host that is an IP address: refused here (a name is checked when it is resolved)."""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        kind = self.refusal(address)
        if kind is not None:
            raise ForbiddenAddress(host, str(address), kind).fetch_error()


class GuardedResolver(AbstractResolver):
    """The default resolver, keeping only the addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refused: ForbiddenAddress | None = None
        for result in found:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])  # fe80::1%eth0
            kind = self._policy.refusal(address)
            if kind is None:
                allowed.append(result)
            elif refused is None or kind is AddressKind.METADATA:
                refused = ForbiddenAddress(host, str(address), kind)
        if not allowed and refused is not None:
            raise refused
        return allowed

    async def close(self) -> None:
        await self._inner.close()
