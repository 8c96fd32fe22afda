"""A feed document (RSS 0.9x/2.0, RSS 1.0/RDF, Atom) to plain entries, with feedparser's lenient parser.

CPU work: the fetcher calls `parse_feed` in a thread."""

from __future__ import annotations

import calendar
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.sources.decode import feed_as_utf8
from bot.sources.errors import FetchError, FetchReason
from bot.sources.extract import html_to_text
from bot.sources.urls import canonical_url


@dataclass(frozen=True)
class Entry:
    key: str
    link: str | None  # canonical, absolute; None when the entry links nowhere usable
    title: str
    text: str  # the feed's own content or summary, plain text
    published: datetime | None
    author: str | None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[Entry]  # feed order, one per key


def parse_feed(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """Raises FetchError(NOT_A_FEED) for a document feedparser neither recognises as a feed nor recovers
    entries from (an HTML page, broken XML with nothing usable)."""
    import feedparser  # on first use: a bot that polls no feed never loads it

    body, content_type = feed_as_utf8(body, content_type)
    headers = {"content-location": url, "content-type": content_type}
    # sanitize_html stays on: the summary is turned into text below, but a title may carry markup too.
    parsed: Any = feedparser.parse(body, response_headers=headers, resolve_relative_uris=True)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        raise FetchError(FetchReason.NOT_A_FEED)
    feed_title = _text(parsed.feed.get("title")) or None
    entries: dict[str, Entry] = {}
    for raw in parsed.entries:
        entry = _entry(raw, url)
        if entry.key not in entries:  # the same item twice in one feed (re-posted, or a URL variant)
            entries[entry.key] = entry
    return ParsedFeed(feed_title, list(entries.values()))


def _entry(raw: Any, feed_url: str) -> Entry:
    link = _link(raw, feed_url)
    title = _text(raw.get("title"))
    text = _content(raw)
    published = _date(raw.get("published_parsed") or raw.get("updated_parsed") or raw.get("created_parsed"))
    guid = (raw.get("id") or "").strip()
    if link:
        key = link
    elif guid:
        key = "guid:" + guid
    else:
        stamp = published.isoformat() if published else ""
        key = "hash:" + hashlib.sha256(f"{title}\n{stamp}\n{text[:500]}".encode()).hexdigest()[:32]
    # RSS <author> is "e-mail (Name)"; feedparser splits it into author_detail.
    author = _text((raw.get("author_detail") or {}).get("name")) or _text(raw.get("author")) or None
    return Entry(key=key, link=link, title=title, text=text, published=published, author=author)


def _link(raw: Any, feed_url: str) -> str | None:
    candidates = [raw.get("link")]
    candidates += [
        item.get("href")
        for item in raw.get("links", [])
        if item.get("rel", "alternate") == "alternate" and item.get("type", "text/html") in ("text/html", "")
    ]
    if raw.get("guidislink"):
        candidates.append(raw.get("id"))
    for candidate in candidates:
        if candidate and candidate.strip():
            url = canonical_url(candidate, feed_url)
            if url.startswith(("http://", "https://")):
                return url
    return None


def _content(raw: Any) -> str:
    """The longest of the entry's bodies: content:encoded / atom:content over a teaser summary."""
    details = [*raw.get("content", []), raw.get("summary_detail") or {"value": raw.get("summary", "")}]
    texts = [_as_text(detail.get("value") or "", detail.get("type") or "text/html") for detail in details]
    return max(texts, key=len, default="")


def _as_text(value: str, media_type: str) -> str:
    # Plain text may hold a literal "<" ("a < b"): only markup goes through the HTML parser.
    return " ".join(value.split()) if media_type == "text/plain" else html_to_text(value)


def _text(value: object) -> str:
    return html_to_text(value) if isinstance(value, str) else ""


def _date(value: time.struct_time | None) -> datetime | None:
    """feedparser normalises every date format it knows to a UTC struct_time."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
