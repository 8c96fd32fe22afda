"""Redis shared by several bot processes (REDIS_URL), against the real server at TEST_REDIS_URL: two bot apps
on one SQLite file, each serving its own webhook, updates posted to one or the other as a load balancer
would. A dialog started on one continues on the other, the throttle counts across both, a text saved on one
is found on the other, an album whose files reach both is one upload. Then the pieces alone: the buckets
and the album collection with two clients.

Without Redis the tests skip and say why; with REQUIRE_SERVICES=1 (CI) they fail instead."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis

from bot.app.container import Services
from bot.app.dispatcher import BotApp
from bot.app.redis_app import RedisAlbums, RedisBuckets
from bot.app.runners import make_bot, run_webhook
from bot.app.settings import BotMode, Settings
from bot.corpus.ingest import TextInput
from emulator import BotAPIEmulator, EmulatedUser, StoredMessage
from handlers.admin.albums import AlbumFile

pytestmark = pytest.mark.timeout(120)

SECRET = "redis-Secret_1"
ADMIN_ID = 9001
WAIT = 20.0  # only a hung or broken bot reaches it


@pytest.fixture
async def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        message = f"Redis at TEST_REDIS_URL ({url}) is unreachable: {exc}"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (REQUIRE_SERVICES=1)")
        pytest.skip(message)
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """Keys of this test only; removed afterwards."""
    name = f"test-{secrets.token_hex(6)}"
    yield name
    client = redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{name}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Worker:
    """One bot process's worth: its services, its app and its webhook address."""

    services: Services
    app: BotApp
    url: str


@asynccontextmanager
async def _worker(emulator: BotAPIEmulator, db: Path, **overrides: Any) -> AsyncIterator[Worker]:
    values: dict[str, Any] = {
        "database_path": db,
        "bot_mode": BotMode.WEBHOOK,
        "webhook_url": "https://bot.example.kz",
        "webhook_secret": SECRET,
        "webhook_host": "127.0.0.1",
        "webhook_port": _free_port(),
        "telegram_api_url": emulator.base_url,
        "bot_token": emulator.token,
        "load_sample_corpus": False,
        "min_text_chars": 20,
        "throttle_rate": 1000,
        "health_port": 0,
        "sources_enabled": False,
        "admin_ids": frozenset({ADMIN_ID}),
        "upload_progress_seconds": 0,
        **overrides,
    }
    settings = Settings(**values)
    services = await Services.open(settings, load_sample=False)
    bot = make_bot(settings, emulator.token)
    app = BotApp.build(services, bot)
    stop = asyncio.Event()
    since = len(emulator.calls)
    task = asyncio.create_task(run_webhook(app.dp, bot, settings, stop))
    try:
        await emulator.wait_for_call("setWebhook", since=since, timeout=WAIT)
        yield Worker(services, app, f"http://127.0.0.1:{settings.webhook_port}/webhook")
    finally:
        stop.set()
        await task
        await bot.session.close()
        await services.close()


Pair = Callable[..., Awaitable[tuple[Worker, Worker]]]


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as running:
        running.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)
        yield running


@pytest.fixture
async def pair(tmp_path: Path, emulator: BotAPIEmulator, redis_url: str, prefix: str) -> AsyncIterator[Pair]:
    """Two bot apps on one database and one Redis (the same prefix)."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> tuple[Worker, Worker]:
            db = tmp_path / "shared.db"
            shared = {"redis_url": redis_url, "redis_prefix": prefix, **overrides}
            first = await stack.enter_async_context(_worker(emulator, db, **shared))
            second = await stack.enter_async_context(_worker(emulator, db, **shared))
            return first, second

        yield start


async def _post(worker: Worker, update: dict[str, Any]) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http, http.post(worker.url, json=update, headers=headers) as r:
        assert r.status == 200, await r.text()


async def _say(emulator: BotAPIEmulator, worker: Worker, user: EmulatedUser, text: str) -> StoredMessage:
    await user.send_text(text)
    await _post(worker, emulator.pending_updates[-1])
    return await user.chat.wait_for_message(timeout=WAIT)


async def _press(
    emulator: BotAPIEmulator, worker: Worker, user: EmulatedUser, message: StoredMessage, button: str
) -> None:
    query = await user.press(message, button)
    await _post(worker, emulator.pending_updates[-1])
    await query.wait_answer(timeout=WAIT)


async def _until(what: str, condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        # The news comes from another connection: nothing in this process to wait on but a poll.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


# -- two processes ------------------------------------------------------------------------------------------


async def test_a_dialog_started_on_one_process_continues_on_the_other(
    emulator: BotAPIEmulator, pair: Pair
) -> None:
    a, b = await pair()
    reader = emulator.create_user("Ann", id=502, language_code="en", started=True)
    screen = await _say(emulator, a, reader, "/subscribe")
    await _press(emulator, b, reader, screen, "sf:daily:0:1")
    await _press(emulator, a, reader, screen, "st::0:1")
    # The typed time reaches the other process: it knows the dialog waits for a time (else: a search).
    zone_screen = await _say(emulator, b, reader, "7:30")
    await _press(emulator, a, reader, zone_screen, "sz:0:0:1")
    await _press(emulator, b, reader, zone_screen, "sq:a:0:1")
    sub = await b.app.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.local_time == "07:30"


async def test_the_throttle_counts_updates_on_both_processes(emulator: BotAPIEmulator, pair: Pair) -> None:
    # A bucket of 5 that refills once in 1000 seconds: the sixth message is refused, wherever it lands.
    a, b = await pair(throttle_rate=0.001)
    reader = emulator.create_user("Bek", id=503, language_code="en", started=True)
    replies = [await _say(emulator, (a, b)[i % 2], reader, "/help") for i in range(6)]
    assert all("Too fast" not in (m.text or "") for m in replies[:5])
    assert "Too fast" in (replies[5].text or "")


ORCHARD = (
    "Виноградники Жетысу дали рекордный урожай: фермеры собрали втрое больше ягод, чем в прошлом сезоне."
)


async def test_a_text_saved_on_one_process_is_found_on_the_other(
    emulator: BotAPIEmulator, pair: Pair
) -> None:
    a, b = await pair()
    reader = emulator.create_user("Dana", id=504, language_code="ru", started=True)
    # The other process has read its statistics and vocabulary before the text exists.
    assert "виноградники" not in await b.services.corpus.vocabulary()
    before = b.services.corpus.generation
    result = await a.services.corpus.ingest(TextInput(ORCHARD, source="test"))
    assert result.id is not None
    await _until("the news of the change", lambda: b.services.corpus.generation > before)
    assert "виноградники" in await b.services.corpus.vocabulary()
    assert (await b.services.corpus.stats()).get(b.services.morph.token_term("виноградники", False))
    found = await _say(emulator, b, reader, "виноградники")
    assert "Жетысу" in (found.text or "")


async def test_an_album_reaching_both_processes_is_one_upload(emulator: BotAPIEmulator, pair: Pair) -> None:
    a, b = await pair(album_wait_seconds=0.5, min_text_chars=50)
    admin = emulator.user(ADMIN_ID)
    updates = []
    for i in range(4):
        text = (
            f"Новость номер {i}: в Алматы открыли {i + 2} новых парка и посадили тысячи деревьев вдоль рек."
        )
        await admin.send_document(f"{i}.txt", text.encode("utf-8"))
        updates.append({**emulator.pending_updates[-1]})
        updates[-1]["message"] = {**updates[-1]["message"], "media_group_id": "album-7"}
    await asyncio.gather(*(_post((a, b)[i % 2], update) for i, update in enumerate(updates)))
    report = await admin.chat.wait_for_message(timeout=WAIT)
    await admin.chat.wait_for_edit(
        report, timeout=WAIT, predicate=lambda m: "Upload finished" in (m.text or "")
    )
    assert "4 files" in (report.text or "")
    assert "Added: 4" in (report.text or "")
    assert len(admin.chat.bot_messages) == 1, "one report for the album, not one per process"


# -- the pieces ---------------------------------------------------------------------------------------------


async def test_redis_buckets_are_shared_by_clients(redis_url: str, prefix: str) -> None:
    one, two = redis.from_url(redis_url), redis.from_url(redis_url)
    try:
        first, second = RedisBuckets(one, prefix, rate=0.001, burst=3), RedisBuckets(two, prefix, rate=0.001)
        taken = [await (first, second)[i % 2].take(7) for i in range(5)]
        assert taken == [(True, False)] * 3 + [(False, True), (False, False)]
        assert await first.take(8) == (True, False)  # another user has a bucket of their own
        assert await one.pttl(f"{prefix}:throttle:7") > 0  # forgotten once it would be full again
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_albums_give_every_file_to_one_caller(redis_url: str, prefix: str) -> None:
    one, two = redis.from_url(redis_url), redis.from_url(redis_url)
    try:
        first, second = RedisAlbums(one, prefix, quiet=0.5), RedisAlbums(two, prefix, quiet=0.5)
        files = [AlbumFile(f"id{i}", f"{i}.txt", None if i == 2 else 100 * i) for i in range(5)]
        results = await asyncio.gather(
            *((first, second)[i % 2].gather("chat:album", f) for i, f in enumerate(files))
        )
        collected = [r for r in results if r is not None]
        assert len(collected) == 1
        assert sorted(collected[0], key=lambda f: f.file_id) == files
        # Taken: the next album under the same key starts afresh.
        assert await second.gather("chat:album", files[0]) == [files[0]]
        assert [key async for key in one.scan_iter(match=f"{prefix}:album:*")] == []
    finally:
        await one.aclose()
        await two.aclose()


async def test_the_corpus_news_arrives_after_the_connection_was_lost(
    emulator: BotAPIEmulator, pair: Pair, redis_url: str, prefix: str
) -> None:
    a, b = await pair()
    admin = redis.from_url(redis_url)
    try:
        # Both processes' subscriptions (their connections carry the prefix's name) are cut, as by a restart.
        for client in await admin.client_list(_type="pubsub"):
            if client.get("name") == f"{prefix}-bot":
                await admin.client_kill_filter(_id=client["id"])
    finally:
        await admin.aclose()
    before = b.services.corpus.generation
    result = await a.services.corpus.ingest(TextInput(ORCHARD, source="test"))
    assert result.id is not None
    # Either the message comes through the renewed subscription, or the renewal itself refreshes.
    await _until("the news of the change", lambda: b.services.corpus.generation > before)
    assert "виноградники" in await b.services.corpus.vocabulary()
