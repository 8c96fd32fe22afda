"""The Telegram bot: Settings → Bot → Dispatcher with its dependencies → routers → hooks → polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.admin.service import AdminService
from bot.app.container import Services
from bot.app.settings import BotMode, Settings
from bot.clock import Clock
from bot.digests.subscriptions import Digests
from bot.i18n import LANGUAGES, N_, make_i18n
from handlers import release_routers, setup_routers
from handlers.middlewares import AdminMenuMiddleware, LanguageMiddleware, ThrottleMiddleware
from handlers.subscriptions.digest_render import DigestRenderer
from storage.audit import AuditRepository
from storage.users import QueryRepository, UserRepository

log = logging.getLogger(__name__)

# (command, description msgid); descriptions are translated per language for setMyCommands.
READER_COMMANDS = [
    ("start", N_("Start and main menu")),
    ("latest", N_("The newest texts")),
    ("summary", N_("The latest news in brief")),
    ("search", N_("Search the texts")),
    ("subscribe", N_("Digests on your schedule")),
    ("settings", N_("Your digest settings")),
    ("pause", N_("Pause digests")),
    ("resume", N_("Resume digests")),
    ("unsubscribe", N_("Stop digests")),
    ("lang", N_("Interface language")),
    ("help", N_("What I can do")),
]
# Shown only to admins (a chat scope per admin), after the reader commands.
ADMIN_COMMANDS = [
    ("add", N_("Add a text")),
    ("docs", N_("Manage the texts")),
    ("stats", N_("Statistics")),
    ("log", N_("Audit log")),
    ("channel", N_("Channels: add, list, remove")),
    ("digest", N_("Digest preview or send")),
]


def make_bot(settings: Settings, token: str) -> Bot:
    session = None
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def build_dispatcher(services: Services, i18n: I18n) -> Dispatcher:
    """The Dispatcher with every long-lived dependency as workflow data (handlers receive them typed)."""
    users = UserRepository(services.db)
    dp = Dispatcher(
        settings=services.settings,
        services=services,
        corpus=services.corpus,
        search=services.search,
        summaries=services.summaries,
        users=users,
        queries=QueryRepository(services.db),
        audit=AuditRepository(services.db),
        admin=AdminService(services.corpus, services.search, services.settings),
        i18n=i18n,
    )
    language = LanguageMiddleware(i18n, users, services.settings.default_language)
    throttle = ThrottleMiddleware(rate=services.settings.throttle_rate, exempt=services.settings.admin_ids)
    for observer in (dp.message, dp.callback_query, dp.inline_query, dp.channel_post):
        observer.outer_middleware(language)
    admin_menus = AdminMenus(i18n, services.settings.admin_ids)
    dp["admin_menus"] = admin_menus
    dp.message.outer_middleware(
        AdminMenuMiddleware(admin_menus.admin_ids, admin_menus.done, admin_menus.ensure)
    )
    dp.message.outer_middleware(throttle)
    dp.callback_query.outer_middleware(throttle)
    dp.include_router(setup_routers())
    return dp


def release_dispatcher(dp: Dispatcher) -> None:
    for root in list(dp.sub_routers):
        release_routers(root)
    dp.sub_routers.clear()


async def set_commands(bot: Bot, i18n: I18n) -> None:
    for lang in LANGUAGES:
        commands = [
            BotCommand(command=c, description=i18n.gettext(d, locale=lang)) for c, d in READER_COMMANDS
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    default = [BotCommand(command=c, description=i18n.gettext(d, locale="ru")) for c, d in READER_COMMANDS]
    await bot.set_my_commands(default, scope=BotCommandScopeDefault())


async def set_admin_commands(bot: Bot, i18n: I18n, admin_id: int) -> bool:
    """The admin's own command menu (a chat scope: nobody else sees these commands). False when Telegram
    refuses, as it does for an admin who has never opened the bot."""
    for lang in (None, *LANGUAGES):
        locale = lang or "ru"
        commands = [
            BotCommand(command=c, description=i18n.gettext(d, locale=locale))
            for c, d in [*READER_COMMANDS, *ADMIN_COMMANDS]
        ]
        try:
            await bot.set_my_commands(
                commands, scope=BotCommandScopeChat(chat_id=admin_id), language_code=lang
            )
        except TelegramAPIError as exc:
            log.warning("could not set the admin command menu for %s yet: %s", admin_id, exc)
            return False
    return True


class AdminMenus:
    """Admin menus are set at start-up; one Telegram refused then is set on that admin's first update."""

    def __init__(self, i18n: I18n, admin_ids: frozenset[int]) -> None:
        self.i18n = i18n
        self.admin_ids = admin_ids
        self.done: set[int] = set()

    async def set_all(self, bot: Bot) -> None:
        for admin_id in sorted(self.admin_ids):
            await self.ensure(bot, admin_id)

    async def ensure(self, bot: Bot, admin_id: int) -> None:
        if (
            admin_id in self.admin_ids
            and admin_id not in self.done
            and await set_admin_commands(bot, self.i18n, admin_id)
        ):
            self.done.add(admin_id)


# -- digests (subscriptions, scheduler, delivery engine) -----------------------------------------------


def attach_digests(
    dp: Dispatcher, services: Services, bot: Bot, i18n: I18n, clock: Clock | None = None
) -> Digests:
    """Subscriptions, the digest scheduler and the delivery engine, started and stopped with `dp` (their
    shutdown hook runs before hooks registered later, so before the database closes)."""
    digests = Digests.create(services, bot, DigestRenderer(i18n), clock)
    digests.install(dp)
    return digests


async def main(settings: Settings) -> None:
    assert settings.bot_token is not None
    services = await Services.open(settings)
    i18n = make_i18n(settings.default_language)
    bot = make_bot(settings, settings.bot_token.get_secret_value())
    dp = build_dispatcher(services, i18n)
    attach_digests(dp, services, bot, i18n)

    async def on_startup(bot: Bot) -> None:
        await set_commands(bot, i18n)
        await dp["admin_menus"].set_all(bot)
        count = await services.corpus.repo.count()
        log.info(
            "started in %s mode; database %s; %d documents; api %s",
            settings.bot_mode.value,
            settings.database_path,
            count,
            settings.telegram_api_url or "api.telegram.org",
        )

    async def on_shutdown() -> None:
        await services.close()
        log.info("stopped; database closed")

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    if settings.bot_mode is BotMode.WEBHOOK:
        await run_webhook(dp, bot, settings)
    else:
        await bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(bot, handle_signals=True, close_bot_session=True)


async def run_webhook(
    dp: Dispatcher, bot: Bot, settings: Settings, stop: asyncio.Event | None = None
) -> None:
    """Serve Telegram's webhook calls until SIGINT/SIGTERM (or `stop`); the secret is checked on each."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(
        app, path=settings.webhook_path
    )
    setup_application(app, dp, bot=bot)
    assert settings.webhook_url is not None
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    # Only once the server listens: Telegram starts calling as soon as the webhook is set.
    await bot.set_webhook(settings.webhook_url + settings.webhook_path, secret_token=secret)
    log.info(
        "webhook listening on %s:%d%s", settings.webhook_host, settings.webhook_port, settings.webhook_path
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        # Finishes the requests in flight, then the shutdown hooks run (setup_application registered them).
        await runner.cleanup()


def run_bot(settings: Settings) -> int:
    if settings.bot_token is None:
        print(
            "BOT_TOKEN is not set: put it in .env (see .env.example) — or try the bot offline with `make chat`.",
            file=sys.stderr,
        )
        return 2
    if settings.bot_mode is BotMode.WEBHOOK and not settings.webhook_url:
        print(
            "BOT_MODE=webhook needs WEBHOOK_URL (the public https address of this server).", file=sys.stderr
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(settings))
    return 0
