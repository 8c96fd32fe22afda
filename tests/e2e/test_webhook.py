"""Webhook mode: the aiohttp server checks Telegram's secret header on every request."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp

from bot.app.container import Services
from bot.app.runtime import build_dispatcher, make_bot, release_dispatcher, run_webhook
from bot.app.settings import BotMode, Settings
from bot.i18n import make_i18n
from emulator import BotAPIEmulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_serves_updates_and_refuses_a_wrong_secret(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emulator:
        port = _free_port()
        settings = Settings(
            database_path=tmp_path / "w.db",
            bot_mode=BotMode.WEBHOOK,
            webhook_url="https://bot.example.kz",
            webhook_secret="s3cret-Value_1",  # type: ignore[arg-type]
            webhook_host="127.0.0.1",
            webhook_port=port,
            telegram_api_url=emulator.base_url,
        )
        services = await Services.open(settings)
        bot = make_bot(settings, emulator.token)
        dp = build_dispatcher(services, make_i18n())
        stop = asyncio.Event()
        task = asyncio.create_task(run_webhook(dp, bot, settings, stop))
        try:
            call = await emulator.wait_for_call("setWebhook", timeout=10)
            assert call.params["url"] == "https://bot.example.kz/webhook"
            assert call.params["secret_token"] == "s3cret-Value_1"
            user = emulator.create_user("Даурен", language_code="ru", started=True)
            await user.send_text("/help")
            update = emulator.pending_updates[-1]
            url = f"http://127.0.0.1:{port}/webhook"
            async with aiohttp.ClientSession() as http:
                async with http.post(url, json=update) as response:
                    assert response.status == 401
                async with http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                ) as r:
                    assert r.status == 401
                assert user.chat.bot_messages == []
                headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Value_1"}
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 200
            reply = await user.chat.wait_for_message(timeout=10)
            assert "/latest" in (reply.text or "")
        finally:
            stop.set()
            await task
            release_dispatcher(dp)
            await bot.session.close()
            await services.close()
