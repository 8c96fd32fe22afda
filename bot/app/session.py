"""aiogram's HTTP session: exceptions that never quote the bot token (see bot/app/redaction.py), replies
retried after Telegram's `retry_after` within a bound, every 429 told to its listeners (the metrics), and
requests without files sent as JSON."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerInlineQuery,
    CopyMessage,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientResponseError, ClientTimeout
from yarl import URL

from bot.app.redaction import Redactor

log = logging.getLogger(__name__)

# The answers people wait for. Matched by exact type: the digest engine sends through its own subclass of
# SendMessage and paces itself by the `retry_after` it is told (bot/digests/telegram.py), so retrying here
# as well would hold its sending slot and count one wait twice.
RETRIED_METHODS: frozenset[type[TelegramMethod[Any]]] = frozenset(
    {
        SendMessage,
        EditMessageText,
        EditMessageReplyMarkup,
        EditMessageCaption,
        AnswerCallbackQuery,
        AnswerInlineQuery,
        SendDocument,
        SendPhoto,
        CopyMessage,
        DeleteMessage,
        SendChatAction,
    }
)
# A reply later than this is worth less than the error: the person has moved on (and Telegram drops a
# callback answer after about 15 s anyway).
MAX_RETRIES = 3
MAX_RETRY_SECONDS = 15.0

# The Bot API takes parameters as JSON too, except files. A form percent-encodes every byte of the text in
# Python (urllib's quoter): for a 2.4 KB digest that was about a third of the sender's CPU per message.
JSON_HEADERS = {"Content-Type": "application/json"}

# Told of each 429 the Bot API answers through the session: the request and its `retry_after`.
FloodListener = Callable[[TelegramMethod[Any], float], None]


class RedactingSession(AiohttpSession):
    """aiogram's session whose exceptions never quote the token (a Bot API error description that echoes
    the path, a failed file download's URL), and which waits out a 429 on a reply (`RETRIED_METHODS`):
    at most `max_retries` times and `max_retry_seconds` in all, else the 429 is raised as before."""

    def __init__(
        self,
        *args: Any,
        max_retries: int = MAX_RETRIES,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # pydantic caches a parametrised model such as Response[Message] only weakly: once a garbage
        # collection frees it, the next answer builds the class again (a few ms of schema work each
        # time). Held here, each answer type is built once per session.
        self._response_types: dict[Any, type[Response[Any]]] = {}
        self.max_retries = max_retries
        self.max_retry_seconds = max_retry_seconds
        self._sleep = sleep  # tests wait in no real time
        # Every request passes here, replies and digests alike: the one place that sees every 429.
        self.on_flood: list[FloodListener] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        waited = 0.0
        for attempt in range(self.max_retries + 1):
            try:
                return await self._redacted_request(bot, method, timeout)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                for listener in self.on_flood:
                    listener(method, wait)
                retried = type(method) in RETRIED_METHODS
                if not retried or attempt == self.max_retries or waited + wait > self.max_retry_seconds:
                    raise
                waited += wait
                log.info("%s: flood control, retrying in %s s", type(method).__name__, exc.retry_after)
                await self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)

    async def _redacted_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        try:
            return await self._post(bot, method, timeout)
        except TelegramAPIError as exc:
            exc.message = Redactor([bot.token]).redact(exc.message)
            raise

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The request's parameters as a JSON object, as aiogram would put them in a form (the same defaults,
        the same fields left out); None if the request uploads a file, which only a multipart form carries."""
        files: dict[str, InputFile] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what aiogram's form leaves out
                continue
            params[key] = prepared
        if files:
            return None
        return self.json_dumps(params).encode()

    async def _post(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        """aiogram's `make_request` with a JSON body where the request has no files."""
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        # What aiohttp makes of the number aiogram passes.
        limit = ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with session.post(url, data=body, headers=JSON_HEADERS, timeout=limit) as resp:
                raw_result = await resp.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)

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
