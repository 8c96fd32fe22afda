"""The session keeps the answer types it parsed with: pydantic holds a parametrised model such as
Response[User] only weakly, so without a strong reference every garbage collection would make the next
answer build the class (its whole validation schema) again."""

from __future__ import annotations

import gc
import weakref

from aiogram import Bot
from aiogram.methods.base import Response
from aiogram.types import User

from bot.app.session import RedactingSession
from emulator import BotAPIEmulator


async def test_an_answer_type_outlives_a_garbage_collection() -> None:
    async with BotAPIEmulator() as emulator:
        session = RedactingSession(api=emulator.api_server())
        bot = Bot(emulator.token, session=session)
        try:
            me = await bot.get_me()
            assert me.username == emulator.bot_user.username
            built = weakref.ref(Response[User])
            gc.collect()
            assert built() is not None, "built again at the next getMe"
            assert Response[User] is built()
        finally:
            await session.close()
