"""`python -m bot`: settings → lock → container → Bot → Bot API check → Dispatcher with its services and
routers → start-up/shutdown hooks → polling or webhook; and everything closed in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app.container import Services
from bot.app.dispatcher import BotApp
from bot.app.failures import StartupFailure, database_failure
from bot.app.health import OpsServerError, Readiness, add_ops_routes, ops_server
from bot.app.lock import instance_lock
from bot.app.metrics import Metrics
from bot.app.roles import role_problem, run_worker, takes_instance_lock
from bot.app.session import RedactingSession
from bot.app.settings import BotMode, BotRole, Settings
from storage.db import DatabaseUnusable

log = logging.getLogger(__name__)

# How long the start-up check waits for the Bot API: a wrong address should stop the start in seconds.
CHECK_TIMEOUT = 10


def make_bot(settings: Settings, token: str) -> Bot:
    # A server in --local mode answers getFile with a path on its disk, which aiogram then reads directly.
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_url, is_local=settings.telegram_api_local)
        if settings.telegram_api_url
        else PRODUCTION
    )
    return Bot(
        token=token,
        session=RedactingSession(api=api),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def check_settings(settings: Settings) -> str | None:
    """What is missing to run the bot, in one line; None when nothing is."""
    if settings.bot_token is None:
        return "BOT_TOKEN is not set: put it in .env (see .env.example) — or try the bot offline with `make chat`."
    if settings.bot_role is not BotRole.ALL:
        return role_problem(settings)
    return _webhook_problem(settings) if settings.bot_mode is BotMode.WEBHOOK else None


def _webhook_problem(settings: Settings) -> str | None:
    if not settings.webhook_url:
        return "BOT_MODE=webhook needs WEBHOOK_URL (the public https address of this server)."
    if settings.webhook_secret is None:
        # Without it, anyone who finds the address could send the bot updates "from" an admin.
        return "BOT_MODE=webhook needs WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -), so that only Telegram is obeyed."
    return None


async def main(settings: Settings) -> None:
    """Runs the bot until SIGINT/SIGTERM; StartupFailure when it cannot start."""
    assert settings.bot_token is not None
    lock = (
        instance_lock(settings.database_path) if takes_instance_lock(settings) else contextlib.nullcontext()
    )
    with lock:
        bot = make_bot(settings, settings.bot_token.get_secret_value())
        try:
            # The Bot API first: a wrong address or token stops the start before anything else is logged.
            await _check_api(bot, settings)
            try:
                services = await Services.open(settings)
            except DatabaseUnusable as exc:
                log.debug("database unusable", exc_info=True)
                raise database_failure(exc) from None
            try:
                await _serve(services, bot)
            finally:
                await services.close()
                log.info("stopped; database closed")
        finally:
            await bot.session.close()


async def _check_api(bot: Bot, settings: Settings) -> None:
    try:
        await bot.get_me(request_timeout=CHECK_TIMEOUT)
    except AiogramError as exc:
        log.debug("Bot API check failed", exc_info=True)
        raise _api_failure(exc, settings) from None


def _api_failure(exc: AiogramError, settings: Settings) -> StartupFailure:
    server = settings.telegram_api_url
    where = f"TELEGRAM_API_URL {server}" if server else "api.telegram.org"
    if isinstance(exc, TelegramUnauthorizedError):
        return StartupFailure(
            f"{where} refused BOT_TOKEN (401 Unauthorized): copy the token from @BotFather into BOT_TOKEN."
        )
    if isinstance(exc, TelegramNotFound):
        # Telegram answers 404 to a malformed token; another server, to a path it does not serve.
        fix = (
            "is it a Bot API server? (empty TELEGRAM_API_URL means Telegram's own)"
            if server
            else "BOT_TOKEN is not a valid token; copy it from @BotFather"
        )
        return StartupFailure(f"{where} answered 404 Not Found: {fix}.")
    if isinstance(exc, TelegramNetworkError):
        return StartupFailure(
            f"cannot reach {where} ({exc.message}): check TELEGRAM_API_URL and the network."
        )
    if isinstance(exc, TelegramAPIError):
        return StartupFailure(
            f"{where} refused the start ({exc.message}): check BOT_TOKEN and TELEGRAM_API_URL."
        )
    return StartupFailure(
        f"{where} does not answer like a Bot API server ({type(exc).__name__}): check TELEGRAM_API_URL."
    )


async def _serve(services: Services, bot: Bot) -> None:
    settings = services.settings
    app = BotApp.build(services, bot)

    async def on_startup(bot: Bot) -> None:
        await app.set_menus(bot)
        # What start-up built (aiogram's ~700 models, the morphology, the routers) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it (~0.5 s each time).
        gc.collect()
        gc.freeze()
        count = await services.corpus.repo.count()
        log.info(
            "started in %s mode; database %s; %d documents; api %s",
            settings.bot_mode.value,
            settings.database_path,
            count,
            settings.telegram_api_url or "api.telegram.org",
        )

    if settings.bot_role is BotRole.WORKER:
        async with serve_ops(settings, app.readiness, app.metrics):
            await run_worker(app, services, bot)
        return
    app.dp.startup.register(on_startup)
    if settings.bot_role is BotRole.WEB:
        # The webhook is registered once, by `python -m bot webhook set`, not by every web worker.
        await run_webhook(app.dp, bot, settings, ops=(app.readiness, app.metrics), register=False)
    elif settings.bot_mode is BotMode.WEBHOOK:
        await run_webhook(app.dp, bot, settings, ops=(app.readiness, app.metrics))
    else:
        await bot.delete_webhook(drop_pending_updates=False)
        async with serve_ops(settings, app.readiness, app.metrics):
            await app.dp.start_polling(bot, handle_signals=True, close_bot_session=True)


@contextlib.asynccontextmanager
async def serve_ops(settings: Settings, readiness: Readiness, metrics: Metrics) -> AsyncIterator[int | None]:
    """/healthz, /readyz and /metrics on HEALTH_HOST:HEALTH_PORT (outside webhook mode); yields the port."""
    try:
        async with ops_server(settings.health_host, settings.health_port, readiness, metrics) as port:
            yield port
    except OpsServerError as exc:
        raise StartupFailure(
            f"cannot listen on HEALTH_HOST {settings.health_host} HEALTH_PORT {settings.health_port} "
            f"({exc.strerror}): choose a free port, or HEALTH_PORT=0 to serve no health endpoints."
        ) from None


class CheckedRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, but a body that is not an Update is the sender's error (400), not ours
    (aiogram answers 500 and logs a traceback)."""

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        try:
            body: Any = await request.json(loads=bot.session.json_loads)
            Update.model_validate(body, context={"bot": bot})
        except ValueError as exc:  # not JSON, not UTF-8, or not an Update (pydantic's error is one too)
            log.warning("webhook: refused a request that is not an update (%s)", type(exc).__name__)
            return web.Response(text="Bad Request: not a Telegram update", status=400)
        return await super().handle(request)

    __call__ = handle


async def run_webhook(
    dp: Dispatcher,
    bot: Bot,
    settings: Settings,
    stop: asyncio.Event | None = None,
    ops: tuple[Readiness, Metrics] | None = None,
    register: bool = True,
) -> None:
    """Serve Telegram's webhook calls until SIGINT/SIGTERM (or `stop`); the secret is checked on each.
    With `ops`, the same server answers /healthz, /readyz and /metrics. `register`: also tell Telegram
    the address (setWebhook) once listening; web workers leave that to `python -m bot webhook set`."""
    problem = (
        _webhook_problem(settings)
        if register
        else role_problem(settings.model_copy(update={"bot_role": BotRole.WEB}))
    )
    if problem or settings.webhook_secret is None or (register and settings.webhook_url is None):
        raise StartupFailure(problem or "", exit_code=2)
    secret = settings.webhook_secret.get_secret_value()
    app = web.Application()
    CheckedRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(
        app, path=settings.webhook_path
    )
    if ops is not None:
        add_ops_routes(app, *ops)
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupFailure(
                f"cannot listen on WEBHOOK_HOST {settings.webhook_host} WEBHOOK_PORT {settings.webhook_port} "
                f"({exc.strerror}): choose a free port or address."
            ) from None
        if register and settings.webhook_url is not None:
            # Only once the server listens: Telegram starts calling as soon as the webhook is set.
            await bot.set_webhook(settings.webhook_url + settings.webhook_path, secret_token=secret)
        log.info(
            "webhook listening on %s:%d%s",
            settings.webhook_host,
            settings.webhook_port,
            settings.webhook_path,
        )
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        # Finishes the requests in flight, then the shutdown hooks run (setup_application registered them).
        await runner.cleanup()


def run_bot(settings: Settings) -> int:
    problem = check_settings(settings)
    if problem:
        raise StartupFailure(problem, exit_code=2)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(settings))
    return 0
