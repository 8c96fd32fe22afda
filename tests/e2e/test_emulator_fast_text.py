"""The emulator's benchmark mode (`fast_text`): HTML is stripped rather than validated, and parses are cached;
the default stays strict (tests/e2e/test_emulator.py)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from emulator import BotAPIEmulator
from emulator.textparse import FastParser


async def test_fast_text_stores_the_plain_text_and_skips_validation() -> None:
    async with BotAPIEmulator(fast_text=True) as emulator:
        user = emulator.create_user("Ann", id=5, started=True)
        session = AiohttpSession(api=emulator.api_server())
        bot = Bot(emulator.token, session=session)
        try:
            sent = await bot.send_message(user.id, "<b>Указ</b> &amp; <i>статус</i>", parse_mode="HTML")
            assert sent.text == "Указ & статус"
            assert not sent.entities
            # Telegram (and the strict emulator) refuse this; a benchmark does not check it.
            loose = await bot.send_message(user.id, "<b>open", parse_mode="HTML")
            assert loose.text == "open"
            assert [m.text for m in user.chat.bot_messages] == ["Указ & статус", "open"]
        finally:
            await session.close()


def test_parses_are_cached_and_the_cache_is_bounded() -> None:
    parse = FastParser(max_entries=2)
    first = parse("<b>a</b>", "HTML")
    assert parse("<b>a</b>", "HTML") is first
    assert parse("*b*", "MarkdownV2").text == "b"  # other modes are parsed as usual
    parse("c", None)
    assert parse("<b>a</b>", "HTML") is not first  # the cache was full and started again
