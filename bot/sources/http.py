"""Bounded HTTP: one request at a time per host with a pause between them, redirects followed by hand (each
hop counted and gated), bodies read in chunks after decompression and cut off past a byte cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from bot.sources.addresses import AddressPolicy, ForbiddenAddress
from bot.sources.errors import FetchError, FetchReason

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MAX_IDLE_HOSTS = 512
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str:
    """Politeness is per host and port: two sites on one address are still two hosts."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"


def check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise FetchError(FetchReason.BAD_URL) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(FetchReason.BAD_URL)


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    free_at: float = 0.0  # monotonic time before which the next request must not start
    delay_s: float = 0.0


class HostGate:
    """Per-host concurrency 1 and a delay between the end of one request and the start of the next."""

    def __init__(self, delay_s: float) -> None:
        self._delay_s = delay_s
        self._hosts: dict[str, _Host] = {}

    def slow_down(self, key: str, delay_s: float) -> None:
        """A host asked for more time between requests (robots.txt Crawl-delay)."""
        host = self._hosts.setdefault(key, _Host())
        host.delay_s = max(host.delay_s, delay_s)

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        host = self._hosts.setdefault(key, _Host())
        async with host.lock:
            wait = host.free_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                host.free_at = time.monotonic() + max(self._delay_s, host.delay_s)
        if len(self._hosts) > _MAX_IDLE_HOSTS:
            self._forget_idle()

    def _forget_idle(self) -> None:
        """Hosts no one waits for and whose pause is over carry nothing worth keeping (an aggregator's
        items may link to thousands of hosts). A Crawl-delay is forgotten with them; robots.txt brings it back."""
        now = time.monotonic()
        for key in [k for k, h in self._hosts.items() if not h.lock.locked() and h.free_at <= now]:
            del self._hosts[key]


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


async def fetch(
    session: aiohttp.ClientSession,
    gate: HostGate,
    url: str,
    *,
    headers: Mapping[str, str],
    max_bytes: int,
    max_redirects: int,
    timeout_s: float,
    policy: AddressPolicy | None = None,
) -> Response:
    """GET `url`; any status is returned (the caller decides), except that redirects are followed.

    Raises FetchError: BAD_URL, TOO_MANY_REDIRECTS, TIMEOUT (per hop, the wait for the host's turn not
    counted), NETWORK, TOO_LARGE (decompressed bytes past `max_bytes`), FORBIDDEN_ADDRESS (an IP literal
    `policy` refuses, here; a name resolving only to such addresses, by the session's GuardedResolver)."""
    for _ in range(max_redirects + 1):
        check_url(url)
        if policy is not None:
            policy.check_literal(urlsplit(url).hostname or "")
        async with gate.turn(host_key(url)):
            response = await _get_once(session, url, headers, max_bytes, timeout_s)
        location = response.headers.get("Location")
        if response.status not in _REDIRECTS or not location:
            return response
        url = urljoin(url, location.strip())
    raise FetchError(FetchReason.TOO_MANY_REDIRECTS, limit=max_redirects)


async def _get_once(
    session: aiohttp.ClientSession, url: str, headers: Mapping[str, str], max_bytes: int, timeout_s: float
) -> Response:
    try:
        async with asyncio.timeout(timeout_s):
            async with session.get(url, headers=dict(headers), allow_redirects=False) as resp:
                if resp.status in _REDIRECTS:
                    return Response(url, resp.status, resp.headers, b"")
                declared = resp.content_length
                if declared is not None and declared > max_bytes and "Content-Encoding" not in resp.headers:
                    raise _too_large(max_bytes)
                body = bytearray()
                # `content` yields the bytes after gzip/deflate, so the cap counts what a bomb expands to.
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    body += chunk
                    if len(body) > max_bytes:
                        raise _too_large(max_bytes)
                return Response(str(resp.url), resp.status, resp.headers, bytes(body))
    except TimeoutError:
        raise FetchError(FetchReason.TIMEOUT, seconds=timeout_s) from None
    except aiohttp.InvalidURL:
        raise FetchError(FetchReason.BAD_URL) from None
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, ForbiddenAddress):
            raise exc.os_error.fetch_error() from None
        raise FetchError(FetchReason.NETWORK, kind=type(exc).__name__) from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise FetchError(FetchReason.NETWORK, kind=type(exc).__name__) from None


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(FetchReason.TOO_LARGE, limit_mb=round(max_bytes / (1024 * 1024), 2))
