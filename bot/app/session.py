"""aiogram's HTTP session, with exceptions that never quote the bot token (see bot/app/redaction.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientResponseError
from yarl import URL

from bot.app.redaction import Redactor


class RedactingSession(AiohttpSession):
    """aiogram's session whose exceptions never quote the token (a Bot API error description that echoes
    the path, a failed file download's URL)."""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        try:
            return await super().make_request(bot, method, timeout)
        except TelegramAPIError as exc:
            exc.message = Redactor([bot.token]).redact(exc.message)
            raise

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (aiogram's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in super().stream_content(url, headers, timeout, chunk_size, raise_for_status):
                yield chunk
        except ClientResponseError as exc:
            # Its text is "404, message='Not Found', url='…/file/bot<TOKEN>/…'".
            redactor = Redactor()
            info = exc.request_info
            safe = URL(redactor.redact(str(info.real_url)), encoded=True)
            exc.request_info = info._replace(url=safe, real_url=safe)
            exc.args = (exc.request_info, exc.history)
            exc.message = redactor.redact(exc.message)
            raise
