"""Webhook mode: the aiohttp server checks Telegram's secret header on every request, refuses what is not
an update, and does not start without a secret."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot, Dispatcher

from bot.app.container import Services
from bot.app.dispatcher import build_dispatcher
from bot.app.failures import StartupFailure
from bot.app.runners import make_bot, run_webhook
from bot.app.settings import BotMode, Settings
from bot.i18n import make_i18n
from emulator import BotAPIEmulator

SECRET = "s3cret-Value_1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(tmp_path: Path, emulator: BotAPIEmulator, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_path": tmp_path / "w.db",
        "bot_mode": BotMode.WEBHOOK,
        "webhook_url": "https://bot.example.kz",
        "webhook_secret": SECRET,
        "webhook_host": "127.0.0.1",
        "webhook_port": _free_port(),
        "telegram_api_url": emulator.base_url,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Webhook:
    emulator: BotAPIEmulator
    url: str
    services: Services


@pytest.fixture
async def webhook(tmp_path: Path) -> AsyncIterator[Webhook]:
    async with BotAPIEmulator() as emulator:
        settings = _settings(tmp_path, emulator)
        services = await Services.open(settings)
        bot = make_bot(settings, emulator.token)
        dp = build_dispatcher(services, make_i18n())
        stop = asyncio.Event()
        task = asyncio.create_task(run_webhook(dp, bot, settings, stop))
        try:
            call = await emulator.wait_for_call("setWebhook", timeout=10)
            assert call.params["url"] == "https://bot.example.kz/webhook"
            assert call.params["secret_token"] == SECRET
            yield Webhook(emulator, f"http://127.0.0.1:{settings.webhook_port}/webhook", services)
        finally:
            stop.set()
            await task
            await bot.session.close()
            await services.close()


async def test_webhook_serves_updates_and_refuses_a_wrong_secret(webhook: Webhook) -> None:
    user = webhook.emulator.create_user("Даурен", language_code="ru", started=True)
    await user.send_text("/help")
    update = webhook.emulator.pending_updates[-1]
    async with aiohttp.ClientSession() as http:
        async with http.post(webhook.url, json=update) as response:
            assert response.status == 401
        async with http.post(
            webhook.url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as r:
            assert r.status == 401
        assert user.chat.bot_messages == []
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(webhook.url, json=update, headers=headers) as response:
            assert response.status == 200
    reply = await user.chat.wait_for_message(timeout=10)
    assert "/latest" in (reply.text or "")


async def test_an_unsigned_admin_command_is_not_obeyed(tmp_path: Path) -> None:
    """The red team's case: a forged /docs "from" an admin, without the secret. The bot runs with that
    admin configured; the forged update must neither be answered nor reach the database."""
    async with BotAPIEmulator() as emulator:
        admin = emulator.create_user("Админ", language_code="ru", started=True)
        settings = _settings(tmp_path, emulator, admin_ids=frozenset({admin.id}))
        services = await Services.open(settings, load_sample=False)
        bot = make_bot(settings, emulator.token)
        dp = build_dispatcher(services, make_i18n())
        stop = asyncio.Event()
        task = asyncio.create_task(run_webhook(dp, bot, settings, stop))
        try:
            await emulator.wait_for_call("setWebhook", timeout=10)
            await admin.send_text("/docs")
            update = emulator.pending_updates[-1]
            url = f"http://127.0.0.1:{settings.webhook_port}/webhook"
            async with aiohttp.ClientSession() as http, http.post(url, json=update) as response:
                assert response.status == 401
            assert admin.chat.bot_messages == []
            assert await services.db.int_scalar("SELECT count(*) FROM users") == 0
        finally:
            stop.set()
            await task
            await bot.session.close()
            await services.close()


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"\xff\xfe", b"[1, 2, 3]", b'{"message": "no update id"}', b'{"update_id": "x"}'],
)
async def test_a_body_that_is_not_an_update_gets_400_without_a_traceback(
    webhook: Webhook, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        async with http.post(webhook.url, data=body, headers=headers) as response:
            assert response.status == 400
        # Without the secret the body is not even read.
        async with http.post(webhook.url, data=body) as response:
            assert response.status == 401
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == []


async def test_webhook_mode_does_not_start_without_a_secret(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emulator:
        settings = _settings(tmp_path, emulator, webhook_secret=None)
        bot: Bot = make_bot(settings, emulator.token)
        try:
            with pytest.raises(StartupFailure, match="WEBHOOK_SECRET"):
                await run_webhook(Dispatcher(), bot, settings, asyncio.Event())
        finally:
            await bot.session.close()
        assert not [c for c in emulator.calls if c.method == "setWebhook"]
