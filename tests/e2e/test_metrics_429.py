"""Issue 11's metrics count Telegram's 429s: not only those met by digests (the delivery engine's) but those
met by ordinary replies too, each counted once, whether the session then waits it out or gives up.

The 429s come from the Bot API emulator's fault injection, over real HTTP, as Telegram sends them."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from bot.app.metrics import Metrics
from bot.app.session import RedactingSession
from emulator import BotAPIEmulator, FaultKind
from tests.e2e.helpers import StartBot, say
from tests.e2e.test_ops import sample


async def test_a_429_on_a_reply_is_counted_once_per_answer(start_bot: StartBot) -> None:
    local = await start_bot()
    reader = local.emulator.create_user("Айгерим", language_code="ru", started=True)
    # The reply meets two 429s (waited out: 1 s each), then goes through.
    local.emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", chat=reader, times=2, retry_after=1)
    reply = await say(reader, "/help")
    assert "/latest" in (reply.text or "")
    assert len(reader.chat.bot_messages) == 1  # delivered once
    text = (await local.app.metrics.render()).decode()
    assert sample(text, "alatau_telegram_429_total") == 2
    assert sample(text, "alatau_digest_deliveries_total", outcome="flood") == 0


async def test_a_429_not_waited_out_is_counted_too() -> None:
    async with BotAPIEmulator() as emulator:
        session = RedactingSession(api=emulator.api_server())
        bot = Bot(emulator.token, session=session)
        metrics = Metrics()
        metrics.watch_session(session)
        metrics.watch_session(session)  # watched twice (two builds on one bot): still counted once
        user = emulator.create_user("Ann", started=True)
        try:
            # Over the session's budget: raised at once, not waited.
            emulator.inject(FaultKind.RETRY_AFTER, method="editMessageText", retry_after=60)
            sent = await bot.send_message(user.id, "страница 1")
            with pytest.raises(TelegramRetryAfter):
                await bot.edit_message_text("страница 2", chat_id=user.id, message_id=sent.message_id)
        finally:
            await session.close()
        assert sample((await metrics.render()).decode(), "alatau_telegram_429_total") == 1
