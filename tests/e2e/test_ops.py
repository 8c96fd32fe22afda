"""What operators use: /healthz, /readyz and /metrics in polling and webhook mode, JSON logs of the real
process, and a self-hosted Bot API server in --local mode (the emulator's local mode)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.dispatcher import BotApp
from bot.app.health import BotApiCheck, Readiness
from bot.app.playground import LocalBot
from bot.app.runners import make_bot, run_webhook, serve_ops
from bot.app.settings import BotMode
from bot.clock import ManualClock
from emulator import BotAPIEmulator, EmulatedUser, FaultKind
from tests.corpus_texts import AIRPORT, CRYPTO, DECREE
from tests.e2e.helpers import StartBot, ingest, say, settings_for
from tests.e2e.helpers import press_until_changed as press

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "ops-Secret_1"
ADMIN = 42


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.text()
        kind = response.headers.get("Content-Type", "")
        return response.status, json.loads(body) if kind.startswith("application/json") else body


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent); labels in any order."""
    for line in text.splitlines():
        found = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if found is None or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if have == labels:
            return float(found.group(3))
    return 0.0


async def wait_metric(base: str, name: str, **labels: str) -> str:
    """/metrics once the sample is at least 1."""
    while True:
        _, text = await get(base + "/metrics")
        if sample(text, name, **labels) >= 1:
            return str(text)
        await asyncio.sleep(0.1)


async def wait_ready(url: str, status: int) -> dict[str, Any]:
    """Poll /readyz until it answers `status` (the Bot API answer is cached a few seconds)."""
    while True:
        code, body = await get(url)
        if code == status:
            assert isinstance(body, dict)
            return body
        await asyncio.sleep(0.2)


# -- polling mode: the real process ------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    drop = {"BOT_TOKEN", "DATABASE_PATH", "DATABASE_URL", "ADMIN_IDS", "TELEGRAM_API_URL", "BOT_MODE"}
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return {**base, "LOAD_SAMPLE_CORPUS": "false", "THROTTLE_RATE": "1000", "MIN_TEXT_CHARS": "20", **extra}


async def test_polling_process_serves_health_ready_metrics_and_json_logs(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with BotAPIEmulator() as emulator:
        env = _env(
            BOT_TOKEN=emulator.token,
            TELEGRAM_API_URL=emulator.base_url,
            DATABASE_PATH=str(tmp_path / "bot.db"),
            HEALTH_PORT=str(port),
            LOG_FORMAT="json",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await emulator.wait_for_call("getUpdates", finished=False, timeout=60)
            status, body = await get(base + "/healthz")
            assert (status, body) == (200, {"status": "ok"})
            ready = await wait_ready(base + "/readyz", 200)
            assert ready["checks"] == {"database": {"ok": True}, "bot_api": {"ok": True}}

            reader = emulator.create_user("Reader", language_code="en", started=True)
            await say(reader, "Алатау")
            # The reply leaves before the handler returns; the update is counted when it has.
            metrics = await wait_metric(base, "alatau_updates_total", type="message", result="handled")
            assert sample(metrics, "alatau_searches_total", via="chat") == 1
            assert sample(metrics, "alatau_update_seconds_count", type="message") >= 1
            assert sample(metrics, "alatau_delivery_queue") == 0
            assert sample(metrics, "alatau_active_worker") == 1

            # The Bot API goes away: not ready, and the body says which check failed.
            await emulator.stop()
            down = await wait_ready(base + "/readyz", 503)
            assert down["failed"] == ["bot_api"]
            assert down["checks"]["database"] == {"ok": True}
            assert down["checks"]["bot_api"]["ok"] is False and down["checks"]["bot_api"]["error"]
            status, _ = await get(base + "/healthz")
            assert status == 200  # alive all the same: restarting it would not bring Telegram back
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert lines, "the bot logged nothing"
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any("started in polling mode" in e["message"] for e in entries)
    assert emulator.token not in err.decode()
    assert emulator.token.split(":")[1] not in err.decode()


# -- the checks in process: an unusable database, the metrics of a digest ------------------------------------


@pytest.fixture
async def ops_url(start_bot: StartBot) -> AsyncIterator[tuple[LocalBot, str]]:
    local = await start_bot(admin_ids=frozenset({ADMIN}))
    settings = local.settings.model_copy(update={"health_port": free_port()})
    async with serve_ops(settings, local.app.readiness, local.app.metrics) as port:
        yield local, f"http://127.0.0.1:{port}"


async def test_ready_names_the_database_when_it_does_not_answer(ops_url: tuple[LocalBot, str]) -> None:
    local, base = ops_url
    assert (await wait_ready(base + "/readyz", 200))["failed"] == []
    await local.services.backend.database.close()  # the connection is gone, as when the server dies
    down = await wait_ready(base + "/readyz", 503)
    assert down["failed"] == ["database"]
    assert down["checks"]["bot_api"] == {"ok": True}
    assert "not connected" in down["checks"]["database"]["error"]


async def subscribe_instantly(local: LocalBot, user_id: int) -> EmulatedUser:
    reader = local.emulator.create_user(f"Reader {user_id}", id=user_id, started=True)
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:instant:0:1")
    await press(reader, screen, "sq:a:0:1")
    return reader


def digests(user: EmulatedUser) -> int:
    return sum((m.text or "").startswith("📰") for m in user.chat.bot_messages)


async def test_metrics_count_searches_documents_and_digests(start_bot: StartBot) -> None:
    local = await start_bot(clock=ManualClock(datetime(2025, 11, 24, 3, 0, tzinfo=UTC)))
    metrics = local.app.metrics
    await ingest(local, DECREE)
    reader = await subscribe_instantly(local, 505)
    leaving = await subscribe_instantly(local, 506)
    await ingest(local, AIRPORT)
    await reader.chat.wait_until(lambda: digests(reader) == 1 and digests(leaving) == 1, timeout=20)
    await say(reader, "аэропорт")
    text = (await metrics.render()).decode()
    assert sample(text, "alatau_documents_saved_total") == 2
    assert sample(text, "alatau_digest_deliveries_total", outcome="sent") == 2
    assert sample(text, "alatau_searches_total", via="chat") == 1
    assert sample(text, "alatau_deliveries", state="sent") == 2

    # The next digest: one reader has blocked the bot, the other's first try meets a 429.
    leaving.block_bot()
    local.emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", chat=reader, retry_after=1)
    await ingest(local, CRYPTO)
    await reader.chat.wait_until(lambda: digests(reader) == 2, timeout=20)
    await local.digests.engine.wait_idle()
    text = (await metrics.render()).decode()
    assert sample(text, "alatau_digest_deliveries_total", outcome="sent") == 3
    assert sample(text, "alatau_digest_deliveries_total", outcome="blocked") == 1
    assert sample(text, "alatau_digest_deliveries_total", outcome="flood") == 1
    assert sample(text, "alatau_telegram_429_total") == 1
    assert sample(text, "alatau_deliveries", state="blocked") == 1
    assert sample(text, "alatau_delivery_queue") == 0
    assert sample(text, "alatau_documents_saved_total") == 3


# -- webhook mode: the same routes on the webhook's server ---------------------------------------------------


async def test_webhook_server_answers_health_ready_and_metrics(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emulator:
        settings = settings_for(
            tmp_path,
            bot_mode=BotMode.WEBHOOK,
            webhook_url="https://bot.example.kz",
            webhook_secret=SECRET,
            webhook_host="127.0.0.1",
            webhook_port=free_port(),
            telegram_api_url=emulator.base_url,
            bot_token=emulator.token,
        )
        from bot.app.container import Services

        services = await Services.open(settings)
        bot = make_bot(settings, emulator.token)
        app = BotApp.build(services, bot)
        stop = asyncio.Event()
        task = asyncio.create_task(run_webhook(app.dp, bot, settings, stop, ops=(app.readiness, app.metrics)))
        base = f"http://127.0.0.1:{settings.webhook_port}"
        try:
            await emulator.wait_for_call("setWebhook", timeout=20)
            assert await get(base + "/healthz") == (200, {"status": "ok"})
            assert (await wait_ready(base + "/readyz", 200))["failed"] == []
            user = emulator.create_user("Hook", language_code="en", started=True)
            await user.send_text("/help")
            update = emulator.pending_updates[-1]
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with (
                aiohttp.ClientSession() as http,
                http.post(base + "/webhook", json=update, headers=headers) as response,
            ):
                assert response.status == 200
            await user.chat.wait_for_message(timeout=20)
            text = await wait_metric(base, "alatau_updates_total", type="message", result="handled")
            assert sample(text, "alatau_updates_total", type="message", result="handled") == 1
            await emulator.stop()
            down = await wait_ready(base + "/readyz", 503)
            assert down["failed"] == ["bot_api"]
        finally:
            stop.set()
            await task
            await bot.session.close()
            await services.close()


# -- a self-hosted Bot API server in --local mode ------------------------------------------------------------


async def test_a_local_bot_api_server_hands_over_files_above_20_mb_as_paths(
    start_bot: StartBot, tmp_path: Path
) -> None:
    files = tmp_path / "telegram-bot-api"
    async with BotAPIEmulator(local_files=files) as emulator:
        local = await start_bot(
            emulator=emulator,
            admin_ids=frozenset({ADMIN}),
            telegram_api_url=emulator.base_url,
            telegram_api_local=True,
            max_download_mb=30,
        )
        admin = emulator.create_user("Admin", id=ADMIN, language_code="en", started=True)
        # 21 MB: past Telegram's cloud limit; the padding is whitespace, which the text loses when normalised.
        data = DECREE.encode() + b"\n" + b" " * (21 * 1024 * 1024)
        await admin.send_document("decree.txt", data)
        preview = await admin.chat.wait_for_message(timeout=60)
        assert "Preview of the text" in (preview.text or ""), preview.text
        assert "Алатау" in (preview.text or "")
        # getFile answered an absolute path on the server's disk, which the bot read there: the emulator's
        # /file/ route knows only relative paths, so a download over HTTP would have failed.
        assert [c.method for c in emulator.calls].count("getFile") == 1
        stored = list(files.rglob("*.txt"))
        assert len(stored) == 1 and stored[0].stat().st_size == len(data)
        assert local.bot.session.api.is_local


# -- Redis, when REDIS_URL is set ------------------------------------------------------------------------------


async def test_ready_names_redis_when_it_does_not_answer(start_bot: StartBot) -> None:
    local = await start_bot()
    readiness = Readiness(
        local.services.backend.ping, local.bot, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    results = await readiness.check()
    await readiness.close()
    assert [name for name, result in results.items() if not result.ok] == ["redis"]
    assert results["redis"].error


async def test_ready_pings_redis(start_bot: StartBot) -> None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis at TEST_REDIS_URL ({url}) is unreachable: {exc} (REQUIRE_SERVICES=1)")
        pytest.skip(f"Redis at TEST_REDIS_URL ({url}) is unreachable: {exc}")
    finally:
        await client.aclose()
    local = await start_bot()
    readiness = Readiness(local.services.backend.ping, local.bot, redis_url=url)
    results = await readiness.check()
    await readiness.close()
    assert {name: result.ok for name, result in results.items()} == {
        "database": True,
        "bot_api": True,
        "redis": True,
    }


async def test_the_bot_api_answer_is_reused_for_a_few_seconds(start_bot: StartBot) -> None:
    local = await start_bot()
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    check = BotApiCheck(local.bot, clock, cache_seconds=5)
    calls = len([c for c in local.emulator.calls if c.method == "getMe"])

    def get_me_calls() -> int:
        return len([c for c in local.emulator.calls if c.method == "getMe"]) - calls

    assert (await check()).ok and (await check()).ok
    assert get_me_calls() == 1
    clock.advance(4.9)
    await check()
    assert get_me_calls() == 1
    clock.advance(0.2)
    await check()
    assert get_me_calls() == 2
