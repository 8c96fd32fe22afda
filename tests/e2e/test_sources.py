"""Sources end to end: feeds served by a local HTTP server on loopback, the real CLI process, the real bot
against the emulator (admins' commands, a channel's posts, an instant digest)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.cli import _build_parser
from bot.app.cli_sources import run_sources
from bot.app.playground import LocalBot
from bot.app.settings import load_settings
from bot.search import SearchResult
from bot.sources.schedule import SourcePoller
from emulator import StoredMessage
from storage.models import SourceKind
from storage.postgres.scratch import scratch_schema
from tests.e2e.helpers import REPLY_TIMEOUT, StartBot, press, say
from tests.sources_server import SourcesServer

ROOT = Path(__file__).resolve().parents[2]
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
ADMIN = 4242
# Only in the article page of the landfill fire, never in any feed: found only if the full text was stored.
PAGE_ONLY = "сортировочная станция"


def serve(server: SourcesServer, fixture: str, path: str) -> str:
    """A fixture feed at `path`, its links pointing at this server, with the article pages it links to."""
    base = server.url("")
    body = (FEEDS / fixture).read_text(encoding="utf-8").replace("{base}", base)
    server.route(path, body, content_type="application/rss+xml; charset=utf-8", etag=f'"{fixture}"')
    for page in (FEEDS / "pages").glob("*.html"):
        if "." not in page.stem:
            html = page.read_text(encoding="utf-8")
            server.route(f"/news/{page.stem}", html, content_type="text/html; charset=utf-8")
    server.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    return server.url(path)


async def cli(db: Path, *args: str) -> tuple[int, str, str]:
    """`python -m bot --db DB …` as a real process (awaited: the feed server runs in this event loop)."""
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_PATH", "ADMIN_IDS"}}
    env.update({"MIN_TEXT_CHARS": "20", "SOURCES_HOST_DELAY_SECONDS": "0", "LOAD_SAMPLE_CORPUS": "false"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--db", str(db), *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def shell(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> tuple[int, str, str]:
    """The same `sources` command run in this process: what a real process does, without paying for one
    each time on a loaded machine (the first commands of the end-to-end test are real processes)."""
    args = _build_parser().parse_args(["--db", str(db), "sources", *argv])
    settings = load_settings(
        database_path=db, min_text_chars=20, sources_host_delay_seconds=0.0, load_sample_corpus=False
    )
    capsys.readouterr()
    code = await run_sources(settings, args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.timeout(300)  # three real processes, each loading the morphology, on a shared machine
async def test_a_fresh_database_follows_feeds_from_the_shell(
    tmp_path: Path, sources_server: SourcesServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    daily = serve(sources_server, "rss2.xml", "/daily.xml")
    reposts = serve(sources_server, "dupes.xml", "/reposts.xml")
    gone = sources_server.url("/gone.xml")  # 404

    code, out, err = await cli(db, "sources", "add", daily, "--filter", 'пожар OR "special economic zone"')
    assert code == 0, err
    assert "#1" in out
    assert (await shell(capsys, db, "add", gone))[0] == 0
    code, _, err = await shell(capsys, db, "add", daily)
    assert code == 2 and "already a source (#1)" in err

    code, out, err = await cli(db, "sources", "poll")
    assert code == 0, err
    assert f"#1 {daily}: added 2," in out and "filtered out 1" in out
    assert f"#2 {gone}: failed: http_status (status=404)" in out
    assert "В Алатау объявили режим ЧС из-за пожара на полигоне" in out

    # The full article text is searchable, not only the feed's summary.
    code, out, _ = await cli(db, "search", PAGE_ONLY, "--json")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 1
    assert hits[0]["url"].endswith("/news/landfill-fire") and hits[0]["date"] == "2025-09-18"
    assert hits[0]["source"] == "Alatau Daily"

    # Another feed reposts the fire (utm tags, /amp/, #comments): the article stored from the first feed,
    # not fetched, not stored again; its other items are.
    assert (await shell(capsys, db, "add", reposts))[0] == 0
    code, out, _ = await shell(capsys, db, "poll", "--json")
    (third,) = map(json.loads, out.splitlines())
    assert third["id"] == 3 and "пожар" not in json.dumps(third["added"], ensure_ascii=False)
    assert [a["title"] for a in third["added"]][-1] == "В Алатау заложили первый камень К-Парка"
    assert sources_server.count("/news/landfill-fire") == 1, "the article page was fetched once"

    # A second pass stores nothing twice, even with the feeds served again in full (no 304).
    for route in sources_server.routes.values():
        route.etag = None
    code, out, _ = await shell(capsys, db, "poll", "--all", "--json")
    reports = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0
    assert reports[1]["added"] == [] and reports[3]["added"] == []
    assert reports[2]["error"] == "http_status (status=404)"

    code, out, _ = await shell(capsys, db, "list", "--json")
    listed = {s["id"]: s for s in json.loads(out)}
    assert listed[1]["items_added"] == 2 and listed[1]["last_error"] is None
    assert listed[1]["filter"] == 'пожар OR "special economic zone"' and listed[1]["last_polled"]
    assert listed[2]["last_error"] == "http_status (status=404)" and listed[2]["items_added"] == 0
    assert listed[2]["failures"] == 2
    assert listed[3]["items_added"] == len(third["added"])
    assert sources_server.count("/news/landfill-fire") == 1, "once over two feeds and three passes"

    code, out, _ = await shell(capsys, db, "remove", "2")
    assert code == 0 and "removed source #2" in out


async def test_every_feed_failing_is_exit_1(
    tmp_path: Path, sources_server: SourcesServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    await shell(capsys, db, "add", sources_server.url("/nothing.xml"))
    code, out, _ = await shell(capsys, db, "poll")
    assert code == 1 and "failed" in out
    code, _, err = await shell(capsys, db, "add", "@some_channel")
    assert code == 2 and "in the chat" in err
    code, out, _ = await shell(capsys, db, "poll")
    assert code == 0 and "no feed is due" in out, "a failed feed backs off: not due again at once"


@pytest.fixture
async def local(start_bot: StartBot) -> LocalBot:
    return await start_bot(
        admin_ids=frozenset({ADMIN}), sources_enabled=False, sources_host_delay_seconds=0.0
    )


async def test_admins_manage_sources_in_the_chat(local: LocalBot, sources_server: SourcesServer) -> None:
    daily = serve(sources_server, "rss2.xml", "/daily.xml")
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    stranger = local.emulator.create_user("Stranger", id=77, started=True)
    assert "admins" in ((await say(stranger, "/sources")).text or "")
    assert "admins" in ((await say(stranger, f"/source add {daily}")).text or "")
    assert await local.services.sources.sources() == []

    added = await say(admin, f"/source add {daily} Алатау OR Alatau -пожар")
    assert "source #1" in (added.text or "") and "«Алатау OR Alatau -пожар»" in (added.text or "")
    await say(admin, f"/source add {sources_server.url('/gone.xml')}")
    assert "There is no source #9" in ((await say(admin, "/source pause 9")).text or "")
    assert "already source #1" in ((await say(admin, f"/source add {daily}")).text or "")
    assert "feed's address" in ((await say(admin, "/source add nonsense")).text or "")

    await admin.send_text("/source poll 1")
    await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)  # "polling…"
    report = await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    text = report.text or ""
    assert "new texts — 2" in text and "left out by the filter: 1" in text, text
    assert "Жетыген" in text and "SEZ Alatau" in text and "пожар" not in text.lower()

    await admin.send_text("/source poll 2")
    await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    failed = await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    assert "failed: the site answered with the error 404" in (failed.text or "")

    listing = (await say(admin, "/sources")).text or ""
    assert "Alatau Daily" in listing and "stored: 2" in listing and "«Алатау OR Alatau -пожар»" in listing
    assert "Last error: the site answered with the error 404 (failed 1 times in a row" in listing

    assert "«Alatau»" in ((await say(admin, "/source filter 1 Alatau")).text or "")
    assert "paused" in ((await say(admin, "/source pause 1")).text or "")
    assert (await local.services.sources.get(1)).paused
    assert "polled again" in ((await say(admin, "/source resume 1")).text or "")
    assert "everything" in ((await say(admin, "/source filter 1")).text or "")
    assert "removed" in ((await say(admin, "/source remove 2")).text or "")
    assert "/source add URL" in ((await say(admin, "/source")).text or "")
    assert "/sources" in ((await say(admin, "/help")).text or "")
    log = (await say(admin, "/log")).text or ""
    for label in ("added the source", "changed the filter of the source", "paused the source", "resumed"):
        assert label in log, log
    assert "removed the source" in log and "gone.xml" in log


async def test_a_channel_where_the_bot_is_admin_is_a_source(local: LocalBot) -> None:
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    news = local.emulator.create_channel("Alatau Channel", username="alatau_channel", can_post_messages=False)
    local.emulator.create_channel("Reader only", username="reader_only", bot_status="member")
    refused = await say(admin, "/source add @reader_only")
    assert "administrator" in (refused.text or "")
    added = await say(admin, "/source add https://t.me/alatau_channel -реклама")
    assert "Alatau Channel" in (added.text or "") and "source #1" in (added.text or "")
    source = await local.services.sources.get(1)
    assert source.kind is SourceKind.CHANNEL and source.chat_id == news.id

    ad = await news.post_text("Реклама: лучшие квартиры в Алатау со скидкой, звоните прямо сейчас, спешите!")
    post = await news.post_text(
        "Аким Алатау провёл встречу с жителями микрорайона и рассказал о строительстве новой школы."
    )
    link = f"https://t.me/alatau_channel/{post.message_id}"
    # Posts make the bot call nothing: wait until the second one is in (the first is read before it).
    found = await found_once(local, "школа")
    assert [h.document.url for h in found.hits] == [link]
    assert found.hits[0].document.source_name == "Alatau Channel"
    assert not (await local.services.search.search("квартиры")).hits, f"post {ad.message_id} filtered"
    source = await local.services.sources.get(1)
    assert source.items_added == 1

    # The channel edits the posts: the stored text is the new one, once, at the same link.
    await news.edit_post(ad, "Реклама: лучшие квартиры в Алатау, теперь без скидки, но всё равно звоните!")
    await news.edit_post(
        post, "Аким Алатау провёл встречу с жителями микрорайона и рассказал о строительстве новой больницы."
    )
    found = await found_once(local, "больница")
    assert [h.document.url for h in found.hits] == [link]
    assert found.hits[0].document.source_name == "Alatau Channel"
    assert not (await local.services.search.search("школа")).hits, "the first version is gone"
    assert not (await local.services.search.search("квартиры")).hits, "an edit brings in nothing left out"
    assert await local.services.corpus.repo.count() == 1
    # A second edit replaces the text the first one stored.
    await news.edit_post(post, "Аким Алатау провёл встречу с жителями и рассказал о новом парке у реки Или.")
    assert [h.document.url for h in (await found_once(local, "парк")).hits] == [link]
    assert not (await local.services.search.search("больница")).hits
    assert await local.services.corpus.repo.count() == 1


async def found_once(local: LocalBot, query: str) -> SearchResult:
    """The search's result once it finds something (a channel's post is taken in in the background)."""
    for _ in range(400):
        result = await local.services.search.search(query)
        if result.hits:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing found for {query!r}")


async def test_new_items_reach_an_instant_subscriber_and_the_job_polls_by_itself(
    local: LocalBot, sources_server: SourcesServer
) -> None:
    reader = local.emulator.create_user("Fast", id=505, started=True)
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:instant:0:1")
    await press(reader, screen, "sq:a:0:1")
    await local.services.sources.add(serve(sources_server, "atom.xml", "/atom.xml"))
    poller = SourcePoller(local.services.sources, tick_seconds=0.2)
    await poller.start()
    try:

        def is_digest(message: StoredMessage) -> bool:
            return (message.text or "").startswith("📰")

        digest = await reader.chat.wait_for_message(timeout=30, predicate=is_digest)
    finally:
        await poller.stop()
    assert "Seoul" in (digest.text or "")
    source = await local.services.sources.get(1)
    assert source.items_added >= 1 and source.last_polled_at is not None


async def test_the_bot_polls_its_sources_by_itself(
    tmp_path: Path, start_bot: StartBot, sources_server: SourcesServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """SOURCES_ENABLED: the running bot polls what is due as soon as it starts (the job's first tick)."""
    db = tmp_path / "bot.db"
    code, _, err = await shell(capsys, db, "add", serve(sources_server, "rss2.xml", "/daily.xml"))
    assert code == 0, err
    local = await start_bot(sources_enabled=True, sources_host_delay_seconds=0.0, database_path=db)

    async def stored() -> int:
        return (await local.services.sources.get(1)).items_added

    for _ in range(600):  # the job runs in the background: wait for its pass (up to a minute)
        if await stored() == 3:
            break
        await asyncio.sleep(0.1)
    assert await stored() == 3
    assert (await local.services.search.search(PAGE_ONLY)).hits


async def test_a_long_list_of_sources_comes_in_several_messages(local: LocalBot) -> None:
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    for n in range(40):
        await local.services.sources.add(
            f"https://outlet{n}.example.kz/rss/{'section/' * 8}all.xml", "Алатау"
        )
    await admin.send_text("/sources")
    await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    await local.emulator.wait_idle(timeout=REPLY_TIMEOUT, quiet=0.3)
    pages = [m for m in admin.chat.bot_messages if "outlet" in (m.text or "")]
    text = "\n".join(m.text or "" for m in pages)
    assert len(pages) >= 2 and all(len(m.text or "") <= 4096 for m in pages)
    assert all(f"outlet{n}.example.kz" in text for n in range(40))


async def test_an_admin_is_told_why_a_feed_on_a_refused_address_is_not_read(
    start_bot: StartBot, sources_server: SourcesServer
) -> None:
    """SOURCES_ALLOW_PRIVATE=false: a feed on loopback is refused (no request made), and the admin reads
    why in /source poll and /sources; a metadata address is refused whatever the setting."""
    local = await start_bot(admin_ids=frozenset({ADMIN}), sources_enabled=False, sources_allow_private=False)
    admin = local.emulator.create_user("Admin", id=ADMIN, language_code="ru", started=True)
    await say(admin, f"/source add {serve(sources_server, 'rss2.xml', '/daily.xml')}")
    await say(admin, "/source add http://169.254.169.254/latest/meta-data/")
    await admin.send_text("/source poll 1")
    await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)  # "polling…"
    report = (await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)).text or ""
    assert "отказано: 127.0.0.1 — адрес частной сети или этой же машины" in report, report
    assert sources_server.count("/daily.xml") == 0
    await local.services.sources.poll_one(2)
    listing = (await say(admin, "/sources")).text or ""
    assert "отказано: 169.254.169.254 — служебный адрес" in listing, listing


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    async with scratch_schema(postgres_database) as url:
        yield url


async def test_a_channel_post_edit_replaces_the_text_on_postgresql(
    postgres_url: str, start_bot: StartBot
) -> None:
    """The edit's one transaction (store the new version, move the first to the bin, relink the item) on
    the other backend. (`postgres_url` first: the bot stops before its schema is dropped.)"""
    local = await start_bot(admin_ids=frozenset({ADMIN}), sources_enabled=False, database_url=postgres_url)
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    news = local.emulator.create_channel("Alatau Channel", username="alatau_channel", can_post_messages=False)
    await say(admin, "/source add @alatau_channel")
    post = await news.post_text("Аким Алатау рассказал жителям о строительстве новой школы в микрорайоне.")
    await found_once(local, "школа")
    await news.edit_post(post, "Аким Алатау рассказал жителям о строительстве новой больницы в микрорайоне.")
    found = await found_once(local, "больница")
    assert [h.document.url for h in found.hits] == [f"https://t.me/alatau_channel/{post.message_id}"]
    assert not (await local.services.search.search("школа")).hits
    assert await local.services.corpus.repo.count() == 1
