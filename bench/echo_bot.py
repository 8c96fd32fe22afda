"""The baseline bot of the bot benchmark: aiogram polling the same server, answering each text with itself."""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


def echo_bot() -> tuple[Bot, Dispatcher]:
    """The bot and its dispatcher, for TELEGRAM_API_URL and BOT_TOKEN (polled here, or served as a webhook by
    bench/deploy_bench.py)."""
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()
    dp.include_router(router)
    return bot, dp


async def main() -> None:
    bot, dp = echo_bot()
    await dp.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
