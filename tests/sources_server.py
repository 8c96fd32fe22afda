"""A local HTTP server for feed and page tests: a dict of path → Route, served on 127.0.0.1 (and other
loopback addresses on request), with delays, streamed and gzip bodies, conditional GET, and its own record
of every request (path, host, headers, start and end) so tests assert behaviour, never timing.

    server.route("/feed.xml", body, content_type="application/rss+xml", etag='"v1"')
    url = server.url("/feed.xml")            # http://127.0.0.1:PORT/feed.xml
    server.count("/feed.xml"); server.max_overlap(host); server.requests[-1].headers["User-Agent"]
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDictProxy


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the response starts
    etag: str | None = None  # conditional GET: If-None-Match equal to it → 304
    last_modified: str | None = None  # conditional GET: If-Modified-Since equal to it → 304
    # A body produced while it is sent (an endless feed, a slow drip); `body` is then ignored.
    stream: Callable[[], AsyncIterator[bytes]] | None = None
    encoded: str | None = None  # "gzip"/"deflate": `body` is already compressed so, sent with that header


@dataclass
class Seen:
    path: str  # with the query string
    host: str  # the Host header, host:port
    headers: CIMultiDictProxy[str]
    start: float  # loop time when the request arrived
    end: float | None = None  # loop time when its response was fully written (None: cut off by the client)
    status: int = 0


class SourcesServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()  # per host: the most requests it served at once
        self._runner: web.AppRunner | None = None
        self.port = 0

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> Route:
        data = body.encode() if isinstance(body, str) else body
        all_headers = dict(headers or {})
        if content_type:
            all_headers["Content-Type"] = content_type
        self.routes[path] = Route(data, status, all_headers, **options)
        return self.routes[path]

    def redirect(self, path: str, to: str, status: int = 302) -> Route:
        return self.route(path, status=status, headers={"Location": to})

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def count(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)

    def overlaps(self, host: str) -> list[tuple[Seen, Seen]]:
        """Pairs of requests to `host` that were being served at the same time (from the server's record; a
        request the client cut off counts as running until the end)."""
        pairs: list[tuple[Seen, Seen]] = []
        longest: Seen | None = None  # of the requests started so far, the one that ends last
        for seen in sorted((s for s in self.requests if s.host == host), key=lambda s: s.start):
            if longest is not None and (longest.end is None or seen.start < longest.end):
                pairs.append((longest, seen))
            if longest is None or (longest.end is not None and (seen.end is None or seen.end > longest.end)):
                longest = seen
        return pairs

    async def start(self, hosts: tuple[str, ...] = ("127.0.0.1",)) -> None:
        """One port on every address in `hosts` (any 127.x.y.z is loopback on Linux): distinct hosts for
        per-host politeness with a single server."""
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        first = web.TCPSite(self._runner, hosts[0], self.port)
        await first.start()
        self.port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for host in hosts[1:]:
            await web.TCPSite(self._runner, host, self.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        seen = Seen(request.path_qs, request.host, request.headers, loop.time())
        self.requests.append(seen)
        self._in_flight[seen.host] += 1
        self.max_in_flight[seen.host] = max(self.max_in_flight[seen.host], self._in_flight[seen.host])
        try:
            response = await self._respond(request, seen)
            seen.end = loop.time()
            return response
        finally:
            self._in_flight[seen.host] -= 1

    async def _respond(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        route = self.routes.get(request.path_qs) or self.routes.get(request.path)
        if route is None:
            seen.status = 404
            return await self._send(request, web.StreamResponse(status=404), b"")
        if route.delay_s:
            await asyncio.sleep(route.delay_s)
        response = web.StreamResponse(status=route.status, headers=route.headers)
        if route.etag:
            response.headers["ETag"] = route.etag
        if route.last_modified:
            response.headers["Last-Modified"] = route.last_modified
        if (route.etag and request.headers.get("If-None-Match") == route.etag) or (
            route.last_modified and request.headers.get("If-Modified-Since") == route.last_modified
        ):
            response.set_status(304)
            seen.status = 304
            return await self._send(request, response, b"")
        seen.status = route.status
        if route.encoded:
            response.headers["Content-Encoding"] = route.encoded
        if route.stream is not None:
            response.enable_chunked_encoding()
            await response.prepare(request)
            async for chunk in route.stream():
                await response.write(chunk)
            await response.write_eof()
            return response
        return await self._send(request, response, route.body)

    @staticmethod
    async def _send(request: web.Request, response: web.StreamResponse, body: bytes) -> web.StreamResponse:
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body)
        await response.write_eof()
        return response


def gzip_bomb(expanded_bytes: int) -> bytes:
    """A gzip body of a few hundred KB that expands to `expanded_bytes` of zeros, built without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(expanded_bytes // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


@pytest.fixture
async def sources_server() -> AsyncIterator[SourcesServer]:
    server = SourcesServer()
    await server.start()
    yield server
    await server.close()
