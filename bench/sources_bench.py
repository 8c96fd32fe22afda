"""One poll pass over 200 local feeds of 50 items each: every feed fetched, parsed, and every item's article
page fetched (robots.txt checked) and its text extracted, as a first poll of new sources does.

A server in its own process serves generated feeds and pages (~20 KB, with the chrome of a news site) on
several loopback hosts (127.0.0.1 … 127.0.0.N, one port), and keeps its own count of the requests it serves
at once per host. Reported per round, min and median of the rounds: wall time, pages/s, peak RSS of this
process (the fetcher; the server's memory is its own) and the most requests any host served at once, which
must be 1. Baselines in the same run: the same feeds without their pages (our fetcher with
fetch_articles=False), and feedparser alone parsing the same feed bytes already in memory.

    python -m bench --only sources
    python -m bench.sources_bench 20 50 1      # feeds, items per feed, rounds (a quick look)
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

HOSTS = 40
HOST_DELAY_S = 0.0  # the bench measures our own cost; production waits `host_delay_s` between requests
POLLS_AT_ONCE = 40

_SENTENCES = (
    "The akimat of Alatau said the first stage of the water main would reach the northern districts by spring.",
    "Builders on the site of the business district worked in two shifts through the week.",
    "Residents of Zhetygen asked at the meeting about school places and the bus to Almaty.",
    "The special economic zone registered several new participants in logistics and light industry.",
    "A delegation of investors visited the future university quarter and the railway station.",
    "Officials promised that the master plan would be published in full before the end of the year.",
    "The regional road service repaired the junction on the highway to Konaev.",
    "Ecologists again asked for a sorting plant near the old landfill.",
)
_CHROME_LINKS = "".join(
    f'<li><a href="/news/other-{i}">Another headline number {i} about the weather and the roads</a></li>'
    for i in range(150)
)


def _page(feed: int, item: int) -> bytes:
    body = "".join(
        f"<p>{_SENTENCES[(feed + item + k) % len(_SENTENCES)]} Item {feed}-{item}, paragraph {k}.</p>"
        for k in range(8)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Alatau news {feed}-{item}</title>'
        f'<link rel="canonical" href="/news/{feed}-{item}"><meta name="author" content="Bench Writer">'
        f'<meta property="article:published_time" content="2025-10-{1 + item % 28:02d}T09:00:00+05:00">'
        '<script>var analytics = {"site": "bench"};</script></head><body>'
        '<header><nav><ul><li><a href="/city">City</a></li><li><a href="/economy">Economy</a></li></ul></nav>'
        '<div class="cookies">This site uses cookies to count visitors.</div></header>'
        f"<main><article><h1>Alatau news {feed}-{item}</h1>{body}</article>"
        f"<aside><h3>Most read</h3><ul>{_CHROME_LINKS}</ul></aside></main>"
        "<footer><p>Alatau bench fixture. All rights reserved.</p></footer></body></html>"
    ).encode()


def _feed(feed: int, items: int, base: str) -> bytes:
    entries = "".join(
        f"<item><title>Alatau news {feed}-{i}</title><link>{base}/news/{feed}-{i}?utm_source=rss</link>"
        f"<guid>{base}/news/{feed}-{i}</guid><pubDate>Mon, 20 Oct 2025 07:{i % 60:02d}:00 GMT</pubDate>"
        f"<description>{_SENTENCES[(feed + i) % len(_SENTENCES)]}</description></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed {feed}</title>'
        f"<link>{base}/</link><description>Generated</description>{entries}</channel></rss>"
    ).encode()


def _host(n: int) -> str:
    return f"127.0.0.{1 + n % HOSTS}"


def _serve(items: int, port_out: Any) -> None:
    """The server process: feeds, pages, robots.txt; /_stats and /_reset for the per-host accounting."""
    from aiohttp import web

    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    served = [0]

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/_stats":
            return web.json_response({"max_in_flight": most, "served": served[0]})
        if path == "/_reset":
            most.clear()
            served[0] = 0
            return web.json_response({})
        host = request.host
        in_flight[host] = in_flight.get(host, 0) + 1
        most[host] = max(most.get(host, 0), in_flight[host])
        served[0] += 1
        try:
            base = f"http://{host}"
            if path == "/robots.txt":
                return web.Response(text="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
            if path.startswith("/feed/"):
                feed = int(path.removeprefix("/feed/").removesuffix(".xml"))
                return web.Response(body=_feed(feed, items, base), content_type="application/rss+xml")
            if path.startswith("/news/"):
                feed, item = (int(part) for part in path.removeprefix("/news/").split("-"))
                return web.Response(body=_page(feed, item), content_type="text/html", charset="utf-8")
            return web.Response(status=404)
        finally:
            in_flight[host] -= 1

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, _host(0), 0)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for n in range(1, HOSTS):
            await web.TCPSite(runner, _host(n), port).start()
        port_out.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


class _RssSampler:
    """Peak resident memory of this process during one round (ru_maxrss only ever grows)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss_kb() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.rss_kb())
            self._stop.wait(0.02)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class _Round:
    seconds: float
    pages: int
    items: int
    peak_rss_mb: float
    max_per_host: int
    requests: int
    cpu_s: float  # this process's user+system CPU: steadier than wall time on a shared machine


async def _round(port: int, feeds: int, *, articles: bool) -> _Round:
    from bot.sources.feeds import FeedFetcher, FetchSettings, Validators

    async with aiohttp.ClientSession() as control:
        await (await control.get(f"http://127.0.0.1:{port}/_reset")).read()
    fetcher = FeedFetcher(
        FetchSettings(
            user_agent="AlatauNewsBot-bench/0.1",
            host_delay_s=HOST_DELAY_S,
            fetch_articles=articles,
            timeout_s=60,
        )
    )
    at_once = asyncio.Semaphore(POLLS_AT_ONCE)

    async def poll(n: int) -> tuple[int, int]:
        async with at_once:
            result = await fetcher.poll(f"http://{_host(n)}:{port}/feed/{n}.xml", Validators())
        return len(result.items), sum(item.full_text for item in result.items)

    with _RssSampler() as sampler:
        started, cpu_started = time.perf_counter(), time.process_time()
        counts = await asyncio.gather(*(poll(n) for n in range(feeds)))
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    await fetcher.close()
    async with aiohttp.ClientSession() as control:
        stats = await (await control.get(f"http://127.0.0.1:{port}/_stats")).json()
    return _Round(
        seconds=seconds,
        pages=sum(pages for _, pages in counts),
        items=sum(items for items, _ in counts),
        peak_rss_mb=sampler.peak_kb / 1024,
        max_per_host=max(stats["max_in_flight"].values(), default=0),
        requests=stats["served"],
        cpu_s=cpu_s,
    )


async def _feedparser_baseline(port: int, feeds: int, rounds: int) -> list[float]:
    import feedparser

    async with aiohttp.ClientSession() as session:
        bodies = []
        for n in range(feeds):
            async with session.get(f"http://{_host(n)}:{port}/feed/{n}.xml") as response:
                bodies.append(await response.read())
    times = []
    for _ in range(rounds):
        started = time.process_time()  # CPU, as for the fetcher: wall time on a shared machine is noise
        for body in bodies:
            feedparser.parse(body)
        times.append(time.process_time() - started)
    return times


def _summary(label: str, values: list[float], unit: str, fmt: str = ".2f") -> str:
    return f"{label:<34} min {min(values):{fmt}} {unit}   median {statistics.median(values):{fmt}} {unit}"


async def _run(feeds: int, items: int, rounds: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    port_out = context.Queue()
    server = context.Process(target=_serve, args=(items, port_out), daemon=True)
    server.start()
    try:
        port = port_out.get(timeout=60)
        rss_before = _RssSampler.rss_kb() / 1024
        full = [await _round(port, feeds, articles=True) for _ in range(rounds)]
        feeds_only = [await _round(port, feeds, articles=False) for _ in range(rounds)]
        parse_only = await _feedparser_baseline(port, feeds, rounds)
    finally:
        server.terminate()
        server.join()
    return {"feeds": feeds, "items": items, "rounds": rounds, "rss_before_mb": rss_before, "full": full,
            "feeds_only": feeds_only, "feedparser_s": parse_only}  # fmt: skip


def _print(r: dict[str, Any]) -> None:
    full: list[_Round] = r["full"]
    only: list[_Round] = r["feeds_only"]
    print(f"\n== sources: one poll pass, {r['feeds']} feeds x {r['items']} items on {HOSTS} hosts, "
          f"{r['rounds']} rounds (host delay {HOST_DELAY_S} s, {POLLS_AT_ONCE} polls at once) ==")  # fmt: skip
    print(_summary("full pass (feeds + pages), time", [x.seconds for x in full], "s"))
    print(_summary("pages fetched and extracted /s", [x.pages / x.seconds for x in full], "/s", ".0f"))
    print(_summary("fetcher CPU per page", [1000 * x.cpu_s / max(1, x.pages) for x in full], "ms", ".1f"))
    print(_summary("peak RSS of the fetcher", [x.peak_rss_mb for x in full], "MB", ".0f")
          + f"   (process before the first round: {r['rss_before_mb']:.0f} MB)")  # fmt: skip
    print(f"{'items / pages with full text':<34} {full[0].items} / {full[0].pages}   "
          f"requests served per round: {full[0].requests}")  # fmt: skip
    worst = max(x.max_per_host for x in full + only)
    print(
        f"{'max concurrent requests per host':<34} {worst}   ({'ok' if worst == 1 else 'VIOLATED: must be 1'})"
    )
    print(_summary("baseline: feeds only, no pages", [x.seconds for x in only], "s", ".3f"))
    print(
        _summary(
            "  its CPU per feed (HTTP + parse)", [1000 * x.cpu_s / r["feeds"] for x in only], "ms", ".1f"
        )
    )
    print(
        _summary(
            "baseline: feedparser alone, CPU/feed",
            [1000 * x / r["feeds"] for x in r["feedparser_s"]],
            "ms",
            ".1f",
        )
    )


def run(feeds: int = 200, items: int = 50, rounds: int = 3) -> None:
    result = asyncio.run(_run(feeds, items, rounds))
    _print(result)
    if os.environ.get("BENCH_JSON"):
        print(json.dumps({k: v for k, v in result.items() if k not in ("full", "feeds_only")}))


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    run(*args)
