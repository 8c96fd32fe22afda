"""The bot token appears in no log line, exception text or traceback: against a real server on loopback that
echoes paths, and a failed file download from the emulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNotFound
from aiohttp import web

from bot.app.redaction import MASK, Redactor, install_redaction
from bot.app.runners import make_bot
from bot.app.settings import Settings
from emulator import BotAPIEmulator

TOKEN = "7301234567:AAE-secret_secret-secret_secret-secret1"
SECRET_PART = TOKEN.split(":")[1]
log = logging.getLogger("tests.redaction")


@pytest.fixture
def redacted(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    undo = install_redaction([TOKEN])
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        undo()


def test_message_arguments_and_tracebacks_are_redacted(redacted: pytest.LogCaptureFixture) -> None:
    log.info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning("encoded: %s", TOKEN.replace(":", "%3A"))
    log.info(f"a token nobody told us about: bot{'555666777'}:{'Z' * 35}/getMe")
    try:
        raise RuntimeError(f"no such route /bot{TOKEN}/deleteWebhook")
    except RuntimeError:
        log.exception("start-up failed")
    assert SECRET_PART not in redacted.text
    assert "Z" * 35 not in redacted.text
    assert redacted.text.count(MASK) == 4
    assert "deleteWebhook" in redacted.text  # the rest of the line stays


def test_the_redactor_leaves_ordinary_text_alone() -> None:
    text = "update 123456 failed: 404 Not Found at 12:30"
    assert Redactor([TOKEN]).redact(text) == text


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        description = f"Not Found: no such route {request.path}"
        return web.json_response({"ok": False, "error_code": 404, "description": description}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_server_that_echoes_the_path_reveals_nothing(
    tmp_path: Path, echo_server: str, redacted: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(Settings(database_path=tmp_path / "x.db", telegram_api_url=echo_server), TOKEN)
    try:
        with pytest.raises(TelegramNotFound) as info:
            await bot.delete_webhook()
        assert "no such route" in str(info.value)
        assert SECRET_PART not in str(info.value)
        log.error("start-up failed", exc_info=info.value)
    finally:
        await bot.session.close()
    assert "no such route" in redacted.text
    assert SECRET_PART not in redacted.text


async def test_a_failed_download_reveals_nothing(tmp_path: Path, redacted: pytest.LogCaptureFixture) -> None:
    async with BotAPIEmulator(token=TOKEN) as emulator:
        bot: Bot = make_bot(
            Settings(database_path=tmp_path / "x.db", telegram_api_url=emulator.base_url), TOKEN
        )
        try:
            with pytest.raises(aiohttp.ClientResponseError) as info:
                await bot.download_file("documents/no-such-file.txt")
            assert info.value.status == 404
            assert SECRET_PART not in str(info.value) + repr(info.value)
            log.error("download failed: %s", info.value, exc_info=info.value)
        finally:
            await bot.session.close()
    assert "no-such-file" in redacted.text
    assert SECRET_PART not in redacted.text
