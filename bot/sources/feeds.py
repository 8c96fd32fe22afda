"""Polling one feed: conditional GET, parse, fetch each new item's article page, extract its text.

One `FeedFetcher` per process: it owns the HTTP session, the per-host turns (one request at a time per host,
`host_delay_s` between them, for feeds, pages and robots.txt alike) and the robots.txt cache. Parsing and
extraction are CPU work on lxml trees and run in threads, so the event loop never waits on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from bot.sources.addresses import AddressPolicy, GuardedResolver
from bot.sources.decode import decode_document
from bot.sources.errors import FetchError, FetchReason
from bot.sources.extract import ArticlePage, extract_article
from bot.sources.http import HostGate, Response, check_url, fetch, host_key
from bot.sources.parse import Entry, parse_feed
from bot.sources.robots import RobotsCache
from bot.sources.urls import canonical_url

log = logging.getLogger(__name__)

__all__ = ["FeedFetcher", "FeedItem", "FeedPoll", "FetchSettings", "Validators", "canonical_url"]

_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, */*;q=0.5"
)
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
# Pages of one feed fetched at once: they usually share a host (then they take turns anyway); an aggregator's
# items spread over hosts go faster, without holding many pages in memory.
_PAGES_AT_ONCE = 4
# The page's text replaces the feed's own only when it is not much shorter: a feed carrying the whole
# article beats an extraction that caught only its lead or a caption.
_PAGE_TEXT_MIN_SHARE = 0.7
# A robots.txt Crawl-delay is honoured up to this: beyond it one poll of a busy feed would take hours.
_MAX_CRAWL_DELAY_S = 10.0


@dataclass(frozen=True, kw_only=True)
class FetchSettings:
    user_agent: str  # names the bot and where to reach its operator, e.g. "AlatauNewsBot/0.1 (+https://...)"
    timeout_s: float = 20  # per request; the wait for a host's turn is not counted
    max_feed_bytes: int = 5 * 1024 * 1024  # decompressed
    max_page_bytes: int = 5 * 1024 * 1024  # decompressed
    max_redirects: int = 5
    host_delay_s: float = 1.0  # between the end of one request to a host and the start of the next
    fetch_articles: bool = True  # False: items carry the feed's own content (full_text=False)
    # New items taken from one poll, in feed order (newest first in practice): a first poll of an archive
    # feed with thousands of entries would otherwise spend hours on pages at one request per host.
    max_items_per_poll: int = 200
    # Private and loopback addresses may be fetched (link-local and cloud metadata ones never are).
    allow_private: bool = True


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FeedItem:
    key: str  # stable identity from the feed alone: canonical link, else "guid:<id>", else "hash:<hex>"
    url: str  # the page's rel=canonical when present, else the canonical link ("" when the item has none)
    title: str
    text: str  # the article page's main text when full_text, else the feed's content/summary (plain text)
    published: datetime | None  # aware UTC: the feed's date, else the page's metadata
    author: str | None
    outlet: str  # the feed's title, else its host
    full_text: bool


@dataclass(frozen=True)
class FeedPoll:
    not_modified: bool
    items: list[FeedItem]  # feed order, new items only (those `known` did not claim), one per key
    validators: Validators  # to send with the next poll
    feed_title: str | None
    # Where the feed was read after redirects (None on 304): a source that moved for good can be updated.
    final_url: str | None = None


class FeedFetcher:
    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._gate = HostGate(settings.host_delay_s)
        self._session: aiohttp.ClientSession | None = None
        self._robots = RobotsCache(self._get_robots, settings.user_agent)
        self._policy = AddressPolicy(settings.allow_private)
        self._resolver: GuardedResolver | None = None

    async def poll(
        self, url: str, validators: Validators, *, known: Callable[[str], Awaitable[bool]] | None = None
    ) -> FeedPoll:
        """Raises FetchError for the feed itself; a page that fails only costs its item the full text."""
        s = self._settings
        check_url(url)
        headers = {"Accept": _FEED_ACCEPT}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        response = await self._get(url, headers, s.max_feed_bytes)
        if response.status == 304:
            return FeedPoll(True, [], _validators(response, validators), None)
        if not 200 <= response.status < 300:
            raise FetchError(FetchReason.HTTP_STATUS, status=response.status)
        content_type = response.headers.get("Content-Type")
        feed = await asyncio.to_thread(parse_feed, response.body, response.url, content_type)
        outlet = feed.title or host_key(response.url)
        fresh: list[Entry] = []
        for entry in feed.entries:
            if len(fresh) >= s.max_items_per_poll:
                break
            if known is None or not await known(entry.key):
                fresh.append(entry)
        pages = asyncio.Semaphore(_PAGES_AT_ONCE)

        async def item(entry: Entry) -> FeedItem:
            async with pages:
                return await self._item(entry, outlet)

        items = await asyncio.gather(*(item(entry) for entry in fresh))
        return FeedPoll(False, list(items), _validators(response, Validators()), feed.title, response.url)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None:  # the connector closes only a resolver it made itself
            await self._resolver.close()
            self._resolver = None

    async def _item(self, entry: Entry, outlet: str) -> FeedItem:
        page = await self._article(entry.link) if entry.link and self._settings.fetch_articles else None
        use_page = (
            page is not None and bool(page.text) and len(page.text) >= _PAGE_TEXT_MIN_SHARE * len(entry.text)
        )
        text = page.text if use_page and page is not None else entry.text
        return FeedItem(
            key=entry.key,
            url=(page.canonical if page is not None and page.canonical else None) or entry.link or "",
            title=entry.title or (page.title if page is not None and page.title else "") or _first_line(text),
            text=text,
            published=entry.published or (page.published if page is not None else None),
            author=entry.author or (page.author if page is not None else None),
            outlet=outlet,
            full_text=use_page,
        )

    async def _article(self, url: str) -> ArticlePage | None:
        """None when the page may not or cannot be read: the item keeps the feed's content."""
        try:
            allowed, crawl_delay = await self._robots.allowed(url)
            if not allowed:
                return None
            if crawl_delay:
                self._gate.slow_down(host_key(url), min(crawl_delay, _MAX_CRAWL_DELAY_S))
            response = await self._get(url, {"Accept": _PAGE_ACCEPT}, self._settings.max_page_bytes)
        except FetchError:
            return None
        content_type = response.headers.get("Content-Type", "")
        if response.status != 200 or content_type.split(";")[0].strip().lower() not in _HTML_TYPES:
            return None
        try:
            return await asyncio.to_thread(_read_page, response.body, content_type, response.url)
        except Exception:  # a third-party extractor on a hostile page: any failure only costs the full text
            log.warning("article extraction failed for %s", response.url, exc_info=True)
            return None

    async def _get(self, url: str, headers: dict[str, str], max_bytes: int) -> Response:
        s = self._settings
        if self._session is None:
            self._resolver = GuardedResolver(self._policy)
            self._session = aiohttp.ClientSession(
                # Only the encodings whose decompressed size the body reader caps as it streams.
                headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=s.timeout_s),
                connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300, resolver=self._resolver),
            )
        return await fetch(
            self._session,
            self._gate,
            url,
            headers=headers,
            max_bytes=max_bytes,
            max_redirects=s.max_redirects,
            timeout_s=s.timeout_s,
            policy=self._policy,
        )

    async def _get_robots(self, url: str, max_bytes: int) -> Response:
        return await self._get(url, {"Accept": "text/plain"}, max_bytes)


def _validators(response: Response, previous: Validators) -> Validators:
    return Validators(
        etag=response.headers.get("ETag") or previous.etag,
        last_modified=response.headers.get("Last-Modified") or previous.last_modified,
    )


def _read_page(body: bytes, content_type: str, url: str) -> ArticlePage:
    return extract_article(decode_document(body, content_type), url)


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0][:200]
