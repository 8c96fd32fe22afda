"""The fetching layer of sources (bot/sources) against a local HTTP server serving our own fixture feeds and
pages (tests/fixtures/feeds, written for these tests about Alatau City)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import lxml.html  # type: ignore[import-untyped]
import pytest

from bot.sources.errors import FetchError, FetchReason
from bot.sources.extract import extract_article, html_to_text
from bot.sources.feeds import FeedFetcher, FeedItem, FetchSettings, Validators, canonical_url
from tests.sources_server import SourcesServer, gzip_bomb, gzipped

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"
PAGES = FIXTURES / "pages"
UA = "AlatauNewsBot/0.1 (+https://github.com/alatau-news-bot; tests)"
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
MB = 1024 * 1024


def settings(**overrides: object) -> FetchSettings:
    values: dict[str, object] = {"user_agent": UA, "timeout_s": 5, "host_delay_s": 0.0}
    values.update(overrides)
    return FetchSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def site(sources_server: SourcesServer) -> SourcesServer:
    """Every fixture feed at /feeds/NAME, every page at /news/SLUG (cp1251 variants at /news/SLUG-cp1251),
    robots.txt disallowing /private/, a short link /go/seoul redirecting to a page."""
    server = sources_server
    base = server.url("").encode()
    for feed in FIXTURES.glob("*.xml"):
        server.route(f"/feeds/{feed.name}", feed.read_bytes().replace(b"{base}", base), content_type=RSS)
    # The cp1251 feed declares its encoding in the XML only, as many old feeds do.
    server.route("/feeds/cp1251.xml", (FIXTURES / "cp1251.xml").read_bytes().replace(b"{base}", base))
    server.route("/feeds/not-a-feed.html", (FIXTURES / "not-a-feed.html").read_bytes(), content_type=HTML)
    for page in PAGES.glob("*.html"):
        if page.name.count(".") == 1:
            server.route(f"/news/{page.stem}", page.read_bytes(), content_type=HTML)
    # Declared by <meta charset> only, and not declared at all (detected from the bytes).
    server.route("/news/k-park-cp1251", (PAGES / "k-park.cp1251.html").read_bytes(), content_type="text/html")
    server.route(
        "/news/landfill-fire-cp1251",
        (PAGES / "landfill-fire.undeclared-cp1251.html").read_bytes(),
        content_type="text/html",
    )
    server.route("/private/kind-memorandum", (PAGES / "kind-memorandum.html").read_bytes(), content_type=HTML)
    server.route("/robots.txt", (FIXTURES / "robots.txt").read_bytes(), content_type="text/plain")
    server.redirect("/go/seoul", "/news/seoul-roadshow")
    return server


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    fetcher = FeedFetcher(settings())
    yield fetcher
    await fetcher.close()


def paragraphs(slug: str) -> list[str]:
    """The article's own text, read from the fixture's markup (the truth extraction is measured against)."""
    tree = lxml.html.fromstring((PAGES / f"{slug}.html").read_bytes())
    return [p.text_content().strip() for p in tree.xpath("//div[@class='article-body']/p")]


def by_title(items: list[FeedItem]) -> dict[str, FeedItem]:
    return {item.title: item for item in items}


# --- canonical URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("https://Alatau.Example/news/x?utm_source=rss&utm_medium=feed", "https://alatau.example/news/x"),
        ("https://alatau.example/news/x/?fbclid=abc&gclid=1&yclid=2", "https://alatau.example/news/x"),
        ("https://alatau.example/news/x/amp/", "https://alatau.example/news/x"),
        ("https://alatau.example/amp/news/x", "https://alatau.example/news/x"),
        ("https://amp.alatau.example/news/x.amp.html", "https://alatau.example/news/x.html"),
        ("https://alatau.example/news/x?amp=1", "https://alatau.example/news/x"),
        (
            "https://alatau-example.cdn.ampproject.org/c/s/alatau.example/news/x/",
            "https://alatau.example/news/x",
        ),
        ("http://alatau.example:80/news/x#comments", "http://alatau.example/news/x"),
        ("https://alatau.example:8443/news/x", "https://alatau.example:8443/news/x"),
        ("https://alatau.example/news/x?id=7&utm_campaign=y", "https://alatau.example/news/x?id=7"),
        ("https://alatau.example", "https://alatau.example/"),
        ("https://alatau.example/", "https://alatau.example/"),
    ],
)
def test_canonical_url_folds_variants(variant: str, expected: str) -> None:
    assert canonical_url(variant) == expected


def test_canonical_url_resolves_relative_links_and_leaves_other_schemes() -> None:
    feed = "https://alatau.example/feeds/rss.xml"
    assert canonical_url("/news/a/", feed) == "https://alatau.example/news/a"
    assert canonical_url("../news/b", feed) == "https://alatau.example/news/b"
    assert canonical_url("c?utm_source=x", feed) == "https://alatau.example/feeds/c"
    assert canonical_url("mailto:editor@alatau.example") == "mailto:editor@alatau.example"
    # Parameters that are part of the address stay, in their order.
    assert canonical_url("https://a.example/p?page=2&id=3") == "https://a.example/p?page=2&id=3"


# --- formats ------------------------------------------------------------------------------------------


async def test_rss2_items_with_full_articles(site: SourcesServer, fetcher: FeedFetcher) -> None:
    poll = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    assert not poll.not_modified
    assert poll.feed_title == "Alatau Daily"
    assert [item.url for item in poll.items] == [
        site.url("/news/zhetygen-becomes-alatau"),  # utm_* gone
        site.url("/news/sez-alatau-grows"),
        site.url("/news/landfill-fire"),
    ]
    first = poll.items[0]
    assert first.key == first.url
    assert first.title == "Жетыген получил статус города и новое имя — Алатау"
    assert first.published == datetime(2024, 1, 9, 10, 30, tzinfo=UTC)  # the feed's date, not the page's
    assert first.author == "Айгерим Сапарова"
    assert first.outlet == "Alatau Daily"
    assert first.full_text
    # The whole article from the page (the feed had one sentence), without the site's chrome.
    assert first.text.split("\n") == paragraphs("zhetygen-becomes-alatau")
    for chrome in ("Most read", "cookies", "All rights reserved", "Share:", "Подписывайтесь"):
        assert chrome not in first.text
    assert poll.items[1].author == "Daniyar Bekov"  # RSS <author> is "e-mail (Name)"


async def test_rdf_feed(site: SourcesServer, fetcher: FeedFetcher) -> None:
    poll = await fetcher.poll(site.url("/feeds/rdf.xml"), Validators())
    assert poll.feed_title == "Alatau Weekly (RDF)"
    items = by_title(poll.items)
    seoul = items["Alatau goes on a roadshow in Seoul"]
    assert seoul.published == datetime(2025, 10, 15, 4, 0, tzinfo=UTC)
    assert seoul.author == "Mira Kim"
    assert seoul.full_text and "880 square kilometres" in seoul.text
    # The trailing slash of the second link is folded.
    assert items["Special economic zone renamed SEZ Alatau and more than triples in size"].url == site.url(
        "/news/sez-alatau-grows"
    )


async def test_atom_feed_and_page_date_when_the_feed_has_none(
    site: SourcesServer, fetcher: FeedFetcher
) -> None:
    poll = await fetcher.poll(site.url("/feeds/atom.xml"), Validators())
    assert poll.feed_title == "Alatau Business (Atom)"
    kind, seoul = poll.items
    assert (
        kind.title == "Korean infrastructure agency signs memorandum on Alatau"
    )  # markup of a type="html" title
    assert kind.author == "Aruzhan Omarova"
    assert kind.published == datetime(2025, 12, 11, 11, 45, tzinfo=UTC)
    assert kind.text.split("\n") == paragraphs("kind-memorandum")
    # No date in the entry: the page's article:published_time (09:00 at UTC+5).
    assert seoul.published == datetime(2025, 10, 15, 4, 0, tzinfo=UTC)


async def test_cp1251_feed_and_pages_declared_and_undeclared(
    site: SourcesServer, fetcher: FeedFetcher
) -> None:
    poll = await fetcher.poll(site.url("/feeds/cp1251.xml"), Validators())
    assert poll.feed_title == "Вести Алатау"
    k_park, fire = poll.items
    assert k_park.title == "В Алатау заложили первый камень К-Парка"
    assert k_park.author == "Наталья Ли"
    assert k_park.full_text and k_park.text.split("\n") == paragraphs("k-park")
    assert fire.full_text and fire.text.split("\n") == paragraphs("landfill-fire")
    # Both pages name /news/SLUG as their canonical address: that is the item's URL; the key stays the link.
    assert k_park.url == site.url("/news/k-park")
    assert k_park.key == site.url("/news/k-park-cp1251")


@pytest.mark.parametrize(
    ("label", "declaration"),
    [
        ("application/rss+xml; charset=utf-8", True),  # a wrong HTTP label: the XML declaration is right
        ("application/rss+xml", False),  # nothing declared at all: detected from the bytes
    ],
)
async def test_cp1251_feed_mislabelled_or_unlabelled(
    site: SourcesServer, fetcher: FeedFetcher, label: str, declaration: bool
) -> None:
    body = (FIXTURES / "cp1251.xml").read_bytes().replace(b"{base}", site.url("").encode())
    if not declaration:
        body = body.replace(b' encoding="windows-1251"', b"")
    site.route("/feeds/mislabelled.xml", body, content_type=label)
    poll = await fetcher.poll(site.url("/feeds/mislabelled.xml"), Validators())
    assert poll.feed_title == "Вести Алатау"
    assert [item.title for item in poll.items] == [
        "В Алатау заложили первый камень К-Парка",
        "В Алатау объявили режим ЧС из-за пожара на полигоне",
    ]


async def test_relative_links_resolved_against_the_feed(site: SourcesServer, fetcher: FeedFetcher) -> None:
    poll = await fetcher.poll(site.url("/feeds/relative.xml"), Validators())
    assert [item.url for item in poll.items] == [
        site.url("/news/seoul-roadshow"),
        site.url("/news/kind-memorandum"),
    ]
    assert all(item.full_text for item in poll.items)


async def test_malformed_xml_that_feedparser_recovers(site: SourcesServer, fetcher: FeedFetcher) -> None:
    poll = await fetcher.poll(site.url("/feeds/broken.xml"), Validators())
    assert [item.title for item in poll.items] == [
        "Roads & water first, say Zhetygen residents",
        "SEZ Alatau grows",
    ]


async def test_not_a_feed(site: SourcesServer, fetcher: FeedFetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.poll(site.url("/feeds/not-a-feed.html"), Validators())
    assert caught.value.reason is FetchReason.NOT_A_FEED
    site.route("/feeds/garbage.xml", b"\x00\x01<<<not xml at all", content_type=RSS)
    with pytest.raises(FetchError) as caught:
        await fetcher.poll(site.url("/feeds/garbage.xml"), Validators())
    assert caught.value.reason is FetchReason.NOT_A_FEED


async def test_an_empty_feed_is_no_error(site: SourcesServer, fetcher: FeedFetcher) -> None:
    empty = '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    site.route("/feeds/empty.xml", empty, content_type=RSS)
    poll = await fetcher.poll(site.url("/feeds/empty.xml"), Validators())
    assert poll.items == [] and poll.feed_title == "Quiet"


# --- identity and duplicates ---------------------------------------------------------------------------


async def test_duplicates_and_url_variants_in_one_feed_fold(
    site: SourcesServer, fetcher: FeedFetcher
) -> None:
    poll = await fetcher.poll(site.url("/feeds/dupes.xml"), Validators())
    assert [item.key for item in poll.items] == [
        site.url("/news/landfill-fire"),
        "guid:alatau-note-17",
        site.url("/news/k-park"),
    ]
    assert site.count("/news/landfill-fire") == 1
    note = poll.items[1]
    assert note.url == "" and not note.full_text
    assert note.text == "Справочно: полигону у села Али около пятнадцати лет."


async def test_items_without_link_or_guid_get_a_stable_hash_key(
    site: SourcesServer, fetcher: FeedFetcher
) -> None:
    bare = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bare</title>'
        "<item><title>Alatau: a note</title><description>First.</description>"
        "<pubDate>Mon, 20 Oct 2025 07:00:00 GMT</pubDate></item>"
        "<item><title>Alatau: another note</title><description>Second.</description></item>"
        "</channel></rss>"
    )
    site.route("/feeds/bare.xml", bare, content_type=RSS)
    first = await fetcher.poll(site.url("/feeds/bare.xml"), Validators())
    again = await fetcher.poll(site.url("/feeds/bare.xml"), Validators())
    keys = [item.key for item in first.items]
    assert len(set(keys)) == 2 and all(key.startswith("hash:") for key in keys)
    assert keys == [item.key for item in again.items]


async def test_known_items_are_left_out_and_their_pages_not_fetched(
    site: SourcesServer, fetcher: FeedFetcher
) -> None:
    stored: set[str] = set()

    async def known(key: str) -> bool:
        return key in stored

    first = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators(), known=known)
    stored.update(item.key for item in first.items)
    pages = ("/news/zhetygen-becomes-alatau", "/news/sez-alatau-grows", "/news/landfill-fire")
    assert [site.count(page) for page in pages] == [1, 1, 1]
    # A feed that re-orders its items and links one through a tracking variant: nothing new, no page read.
    feed = (FIXTURES / "rss2.xml").read_text().replace("{base}", site.url(""))
    feed = feed.replace("/news/landfill-fire<", "/news/landfill-fire/?utm_source=tg<")
    head, *items = feed.split("<item>")
    site.route("/feeds/rss2.xml", "<item>".join([head, items[2], items[0], items[1]]), content_type=RSS)
    second = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators(), known=known)
    assert second.items == []
    assert [site.count(page) for page in pages] == [1, 1, 1]


# --- HTTP behaviour -------------------------------------------------------------------------------------


async def test_conditional_get_with_etag_and_last_modified(site: SourcesServer, fetcher: FeedFetcher) -> None:
    body = (FIXTURES / "rss2.xml").read_bytes().replace(b"{base}", site.url("").encode())
    site.route("/feeds/etag.xml", body, content_type=RSS, etag='"v1"')
    site.route("/feeds/lm.xml", body, content_type=RSS, last_modified="Tue, 01 Dec 2026 08:00:00 GMT")
    first = await fetcher.poll(site.url("/feeds/etag.xml"), Validators())
    assert first.validators == Validators(etag='"v1"', last_modified=None) and len(first.items) == 3
    second = await fetcher.poll(site.url("/feeds/etag.xml"), first.validators)
    assert second.not_modified and second.items == [] and second.validators == first.validators
    assert site.requests[-1].headers["If-None-Match"] == '"v1"' and site.requests[-1].status == 304

    first = await fetcher.poll(site.url("/feeds/lm.xml"), Validators())
    assert first.validators.last_modified == "Tue, 01 Dec 2026 08:00:00 GMT"
    second = await fetcher.poll(site.url("/feeds/lm.xml"), first.validators)
    assert second.not_modified
    assert site.requests[-1].headers["If-Modified-Since"] == "Tue, 01 Dec 2026 08:00:00 GMT"
    # A changed feed (new ETag) is read again.
    site.routes["/feeds/etag.xml"].etag = '"v2"'
    third = await fetcher.poll(site.url("/feeds/etag.xml"), Validators(etag='"v1"'))
    assert not third.not_modified and third.validators.etag == '"v2"'


@pytest.mark.parametrize("status", [404, 500, 403])
async def test_http_errors_are_typed(
    sources_server: SourcesServer, fetcher: FeedFetcher, status: int
) -> None:
    sources_server.route("/feeds/gone.xml", b"nope", status=status, content_type="text/plain")
    with pytest.raises(FetchError) as caught:
        await fetcher.poll(sources_server.url("/feeds/gone.xml"), Validators())
    assert caught.value.reason is FetchReason.HTTP_STATUS
    assert caught.value.params == {"status": status}


async def test_slow_source_times_out(sources_server: SourcesServer) -> None:
    sources_server.route("/feeds/slow.xml", b"<rss/>", content_type=RSS, delay_s=30)
    fetcher = FeedFetcher(settings(timeout_s=0.3))
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.poll(sources_server.url("/feeds/slow.xml"), Validators())
    finally:
        await fetcher.close()
    assert caught.value.reason is FetchReason.TIMEOUT


async def test_unreachable_source_is_a_network_error(fetcher: FeedFetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.poll("http://127.0.0.1:9/feed.xml", Validators())  # the discard port: nobody listens
    assert caught.value.reason is FetchReason.NETWORK


@pytest.mark.parametrize(
    "url", ["ftp://alatau.example/feed.xml", "not a url", "http:///feed", "http://x:port/"]
)
async def test_bad_urls(fetcher: FeedFetcher, url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.poll(url, Validators())
    assert caught.value.reason is FetchReason.BAD_URL


async def test_gzip_bomb_is_cut_at_the_decompressed_cap(sources_server: SourcesServer) -> None:
    bomb = gzip_bomb(256 * MB)
    assert len(bomb) < MB  # small on the wire
    sources_server.route("/feeds/bomb.xml", bomb, content_type=RSS, encoded="gzip")
    fetcher = FeedFetcher(settings(max_feed_bytes=2 * MB))
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.poll(sources_server.url("/feeds/bomb.xml"), Validators())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await fetcher.close()
    assert caught.value.reason is FetchReason.TOO_LARGE
    assert caught.value.params == {"limit_mb": 2}
    # Stopped while streaming: never more than the cap and a few chunks in memory, not the 256 MB.
    assert peak < 32 * MB


async def test_gzip_feed_within_the_cap_is_read(site: SourcesServer, fetcher: FeedFetcher) -> None:
    body = (FIXTURES / "atom.xml").read_bytes().replace(b"{base}", site.url("").encode())
    site.route("/feeds/atom.xml.gz", gzipped(body), content_type=RSS, encoded="gzip")
    poll = await fetcher.poll(site.url("/feeds/atom.xml.gz"), Validators())
    assert len(poll.items) == 2


async def test_endless_feed_stops_at_the_size_cap(sources_server: SourcesServer) -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Forever</title>'
        while True:
            yield b"<item><title>Alatau, again</title><description>" + b"x" * 4000 + b"</description></item>"
            await asyncio.sleep(0)

    sources_server.route("/feeds/endless.xml", content_type=RSS, stream=endless)
    fetcher = FeedFetcher(settings(max_feed_bytes=MB))
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.poll(sources_server.url("/feeds/endless.xml"), Validators())
    finally:
        await fetcher.close()
    assert caught.value.reason is FetchReason.TOO_LARGE


async def test_declared_length_over_the_cap_is_refused_unread(sources_server: SourcesServer) -> None:
    sources_server.route("/feeds/big.xml", b"<rss>" + b" " * (2 * MB), content_type=RSS)
    fetcher = FeedFetcher(settings(max_feed_bytes=MB))
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.poll(sources_server.url("/feeds/big.xml"), Validators())
    finally:
        await fetcher.close()
    assert caught.value.reason is FetchReason.TOO_LARGE


async def test_page_behind_a_redirect(site: SourcesServer, fetcher: FeedFetcher) -> None:
    poll = await fetcher.poll(site.url("/feeds/redirect-feed.xml"), Validators())
    (item,) = poll.items
    assert item.key == site.url("/go/seoul")  # identity from the feed
    assert item.url == site.url("/news/seoul-roadshow")  # the page's canonical link
    assert item.full_text and item.text.split("\n") == paragraphs("seoul-roadshow")
    assert site.count("/go/seoul") == 1 and site.count("/news/seoul-roadshow") == 1


async def test_redirects_are_bounded(sources_server: SourcesServer) -> None:
    sources_server.redirect("/loop/a", "/loop/b")
    sources_server.redirect("/loop/b", "/loop/a")
    fetcher = FeedFetcher(settings(max_redirects=3))
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.poll(sources_server.url("/loop/a"), Validators())
    finally:
        await fetcher.close()
    assert caught.value.reason is FetchReason.TOO_MANY_REDIRECTS
    assert caught.value.params == {"limit": 3}
    assert len(sources_server.requests) == 4  # the first request and three redirects followed


async def test_feed_behind_a_redirect_to_another_scheme_is_refused(sources_server: SourcesServer) -> None:
    sources_server.redirect("/feeds/moved.xml", "file:///etc/passwd")
    fetcher = FeedFetcher(settings())
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.poll(sources_server.url("/feeds/moved.xml"), Validators())
    finally:
        await fetcher.close()
    assert caught.value.reason is FetchReason.BAD_URL


async def test_failing_pages_fall_back_to_the_feed_content(site: SourcesServer) -> None:
    site.route("/news/zhetygen-becomes-alatau", b"gone", status=404, content_type="text/plain")
    site.route("/news/sez-alatau-grows", b"<html>" + b"a" * (2 * MB), content_type=HTML)  # over the page cap
    site.route("/news/landfill-fire", b"<html>", content_type=HTML, delay_s=30)  # times out
    fetcher = FeedFetcher(settings(max_page_bytes=MB, timeout_s=0.3))
    try:
        poll = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    finally:
        await fetcher.close()
    zhetygen, sez, fire = poll.items
    assert not any(item.full_text for item in poll.items)
    assert zhetygen.text == "Село Жетыген Илийского района стало городом областного значения Алатау."
    assert sez.text.startswith("The special economic zone created north of Almaty")  # content:encoded
    assert sez.text.endswith("business forum with Korean companies in Astana.")
    assert fire.text.startswith("Акимат ввёл режим чрезвычайной ситуации")


async def test_robots_txt_disallowed_page_keeps_the_feed_content(
    site: SourcesServer, fetcher: FeedFetcher
) -> None:
    poll = await fetcher.poll(site.url("/feeds/robots-feed.xml"), Validators())
    private, public = poll.items
    assert site.count("/private/kind-memorandum") == 0
    assert not private.full_text
    assert (
        private.text
        == "KIND looks at power, water and waste projects in Alatau; the full text is for subscribers."
    )
    assert public.full_text
    # One robots.txt request for the host, however many pages.
    await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    assert site.count("/robots.txt") == 1


async def test_unreachable_robots_txt_means_no_pages(site: SourcesServer, fetcher: FeedFetcher) -> None:
    site.route("/robots.txt", b"down", status=503, content_type="text/plain")
    poll = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    assert len(poll.items) == 3 and not any(item.full_text for item in poll.items)
    assert site.count("/news/landfill-fire") == 0


async def test_fetch_articles_off_reads_only_the_feed(site: SourcesServer) -> None:
    fetcher = FeedFetcher(settings(fetch_articles=False))
    try:
        poll = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    finally:
        await fetcher.close()
    assert len(poll.items) == 3 and not any(item.full_text for item in poll.items)
    assert [seen.path for seen in site.requests] == ["/feeds/rss2.xml"]


async def test_user_agent_on_every_request(site: SourcesServer, fetcher: FeedFetcher) -> None:
    await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    paths = {seen.path for seen in site.requests}
    assert {"/feeds/rss2.xml", "/robots.txt", "/news/landfill-fire"} <= paths
    assert {seen.headers.get("User-Agent") for seen in site.requests} == {UA}


# --- politeness ----------------------------------------------------------------------------------------


async def test_one_request_at_a_time_per_host_with_a_pause(sources_server: SourcesServer) -> None:
    server = sources_server
    await server.close()
    await server.start(hosts=("127.0.0.1", "127.0.0.2"))
    items = "".join(
        f"<item><title>Alatau note {i}</title><link>/news/{i}</link><description>Note {i}.</description></item>"
        for i in range(8)
    )
    for name in ("a", "b", "c"):
        server.route(
            f"/feeds/{name}.xml", f'<rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>'
        )
    page = (PAGES / "seoul-roadshow.html").read_bytes()
    for i in range(8):
        server.route(f"/news/{i}", page, content_type=HTML, delay_s=0.02)
    delay = 0.05
    fetcher = FeedFetcher(settings(host_delay_s=delay))
    try:
        polls = await asyncio.gather(
            *(fetcher.poll(server.url(f"/feeds/{name}.xml"), Validators()) for name in ("a", "b")),
            fetcher.poll(server.url("/feeds/c.xml", host="127.0.0.2"), Validators()),
        )
    finally:
        await fetcher.close()
    assert all(len(poll.items) == 8 and all(item.full_text for item in poll.items) for poll in polls)
    first, second = f"127.0.0.1:{server.port}", f"127.0.0.2:{server.port}"
    assert server.overlaps(first) == [] and server.overlaps(second) == []
    assert server.max_in_flight[first] == 1 and server.max_in_flight[second] == 1
    for host in (first, second):
        seen = sorted((s for s in server.requests if s.host == host), key=lambda s: s.start)
        assert len(seen) >= 9
        # The server saw each request start at least `delay` after the previous one ended.
        assert all(b.start - a.end >= delay for a, b in itertools.pairwise(seen) if a.end is not None)


async def test_the_overlap_record_sees_concurrent_requests(sources_server: SourcesServer) -> None:
    """The control for the test above: requests that do overlap are seen overlapping."""
    sources_server.route("/slow", b"ok", delay_s=0.2)
    async with aiohttp.ClientSession() as session:

        async def get() -> None:
            async with session.get(sources_server.url("/slow")) as response:
                await response.read()

        await asyncio.gather(get(), get())
    host = f"127.0.0.1:{sources_server.port}"
    assert len(sources_server.overlaps(host)) == 1 and sources_server.max_in_flight[host] == 2


# --- extraction ----------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.lower().split()


def _overlap(found: str, truth: str) -> tuple[float, float]:
    """Token precision and recall of `found` against `truth` (bag of words)."""
    from collections import Counter

    f, t = Counter(_words(found)), Counter(_words(truth))
    common = sum((f & t).values())
    return common / max(1, sum(f.values())), common / max(1, sum(t.values()))


def test_extraction_finds_the_article_and_leaves_the_chrome() -> None:
    """trafilatura against the truth on every fixture page, beside stripping all markup (the baseline)."""
    for page in PAGES.glob("*.html"):
        if page.name.count(".") != 1:
            continue
        html = page.read_text()
        truth = "\n".join(paragraphs(page.stem))
        article = extract_article(html, f"https://alatau.example/news/{page.stem}")
        precision, recall = _overlap(article.text, truth)
        assert precision == 1.0 and recall == 1.0, page.name
        base_precision, base_recall = _overlap(html_to_text(html), truth)
        assert base_recall == 1.0 and base_precision < 0.75, page.name  # the chrome the baseline keeps
        assert article.canonical == f"https://alatau.example/news/{page.stem}"
        assert article.published is not None and article.author


def test_a_home_page_canonical_link_is_not_taken() -> None:
    html = (PAGES / "seoul-roadshow.html").read_text().replace('href="/news/seoul-roadshow"', 'href="/"')
    assert extract_article(html, "https://alatau.example/news/seoul-roadshow").canonical is None


def test_parsers_and_extractor_are_loaded_only_when_used() -> None:
    code = (
        "import sys, bot.sources.feeds, bot.sources.extract;"
        "heavy = ('trafilatura', 'feedparser', 'lxml');"
        "assert not [m for m in heavy if m in sys.modules], 'loaded on import';"
        "bot.sources.extract.extract_article('<html><body><p>Alatau</p></body></html>', 'https://a.example/x');"
        "assert 'trafilatura' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_new_items_per_poll_are_capped_known_ones_not_counted(site: SourcesServer) -> None:
    fetcher = FeedFetcher(settings(max_items_per_poll=1))

    async def known(key: str) -> bool:
        return key.endswith("/news/zhetygen-becomes-alatau")

    try:
        poll = await fetcher.poll(site.url("/feeds/rss2.xml"), Validators(), known=known)
    finally:
        await fetcher.close()
    assert [item.url for item in poll.items] == [site.url("/news/sez-alatau-grows")]
    assert site.count("/news/landfill-fire") == 0


async def test_a_moved_feed_reports_where_it_was_read(site: SourcesServer, fetcher: FeedFetcher) -> None:
    site.redirect("/old-feed.xml", "/feeds/atom.xml", status=301)
    poll = await fetcher.poll(site.url("/old-feed.xml"), Validators())
    assert poll.final_url == site.url("/feeds/atom.xml") and len(poll.items) == 2


async def test_robots_crawl_delay_spaces_the_pages(site: SourcesServer, fetcher: FeedFetcher) -> None:
    site.route("/robots.txt", "User-agent: *\nCrawl-delay: 0.2\n", content_type="text/plain")
    await fetcher.poll(site.url("/feeds/rss2.xml"), Validators())
    pages = sorted((s for s in site.requests if s.path.startswith("/news/")), key=lambda s: s.start)
    assert len(pages) == 3
    assert all(a.end is not None and b.start - a.end >= 0.2 for a, b in itertools.pairwise(pages))
    assert {s.headers.get("Accept-Encoding") for s in site.requests} == {"gzip, deflate"}


def test_canonical_url_one_encoding_per_address() -> None:
    raw = canonical_url("https://Alatau.example/новости/алатау/?q=город&utm_source=x")
    encoded = canonical_url(
        "https://alatau.example/%d0%bd%d0%be%d0%b2%d0%be%d1%81%d1%82%d0%b8/%D0%B0%D0%BB%D0%B0%D1%82%D0%B0%D1%83"
        "?q=%D0%B3%D0%BE%D1%80%D0%BE%D0%B4"
    )
    assert raw == encoded and raw.isascii()
    assert canonical_url("https://Алатау.рф/x/") == "https://xn--80aaa6bwbh.xn--p1ai/x"
    for url in (raw, "https://alatau.example/a b?q=a b", "https://alatau.example/news/x/amp/?utm_source=y"):
        assert canonical_url(canonical_url(url)) == canonical_url(url)
