"""The Dispatcher: the container's services as workflow data (handlers receive them typed), middlewares,
the routers, and the digest machinery that starts and stops with it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n

from bot.app.commands import AdminMenus, set_commands
from bot.app.container import Services
from bot.app.health import Readiness
from bot.app.lease import DigestWork
from bot.app.metrics import Metrics, UpdateMetrics
from bot.app.settings import BotRole
from bot.app.sources_app import attach_sources
from bot.digests.builder import DigestBuilder
from bot.digests.delivery import DeliveryConfig, DeliveryEngine
from bot.digests.ledger import DeliveryLedger
from bot.digests.schedule import DigestScheduler
from bot.digests.subscriptions import Digests, SubscriptionService
from bot.digests.telegram import TelegramChannels, TelegramSender
from bot.i18n import make_i18n
from handlers import get_routers
from handlers.admin.albums import AlbumFile, Gatherer
from handlers.admin.uploads import close_interrupted_uploads
from handlers.middlewares import (
    AdminMenuMiddleware,
    CallbackAnswers,
    LanguageMiddleware,
    SeenUsersMiddleware,
    ThrottleMiddleware,
)
from handlers.subscriptions.digest_render import DigestRenderer


def build_dispatcher(services: Services, i18n: I18n) -> Dispatcher:
    """The Dispatcher with every long-lived dependency as workflow data."""
    settings = services.settings
    shared = services.redis  # several processes: dialogs, throttle and albums live in Redis
    storage, isolation = shared.fsm() if shared is not None else (None, None)
    dp = Dispatcher(
        storage=storage,
        events_isolation=isolation,
        settings=settings,
        corpus=services.corpus,
        search=services.search,
        summaries=services.summaries,
        reader=services.reader,
        user_service=services.user_service,
        queries=services.queries,
        audit=services.audit,
        uploads=services.uploads,
        documents=services.documents,
        stats=services.stats,
        audit_log=services.audit_log,
        albums=(
            shared.albums(settings.album_wait_seconds)
            if shared is not None
            else Gatherer[AlbumFile](settings.album_wait_seconds)
        ),
        i18n=i18n,
    )
    seen = SeenUsersMiddleware(services.user_service)
    language = LanguageMiddleware(i18n, services.user_service, settings.default_language)
    throttle = ThrottleMiddleware(
        rate=settings.throttle_rate,
        exempt=settings.admin_ids,
        buckets=shared.buckets(settings.throttle_rate) if shared is not None else None,
    )
    # The error router too: a refusal that ends a handler is explained in the user's language.
    for observer in (dp.message, dp.callback_query, dp.inline_query, dp.channel_post):
        observer.outer_middleware(seen)
    for observer in (dp.message, dp.callback_query, dp.inline_query, dp.channel_post, dp.errors):
        observer.outer_middleware(language)
    admin_menus = AdminMenus(i18n, settings.admin_ids)
    dp["admin_menus"] = admin_menus
    dp.message.outer_middleware(
        AdminMenuMiddleware(admin_menus.admin_ids, admin_menus.done, admin_menus.ensure)
    )
    dp.message.outer_middleware(throttle)
    dp.callback_query.outer_middleware(throttle)
    dp.callback_query.middleware(CallbackAnswers())
    dp.include_routers(*get_routers())
    # Before polling: a bulk upload's progress message left by a process that died is closed truthfully.
    dp.startup.register(close_interrupted_uploads)
    if shared is not None:
        dp.startup.register(shared.corpus_changes.listen)
        dp.shutdown.register(shared.corpus_changes.stop)
    return dp


def attach_digests(
    dp: Dispatcher, services: Services, bot: Bot, i18n: I18n, metrics: Metrics | None = None
) -> Digests:
    """Subscriptions, the digest scheduler and the delivery engine, started and stopped with `dp` (their
    shutdown hook runs before the container closes the database)."""
    clock, builder = services.clock, DigestBuilder(services.search)
    config = DeliveryConfig.for_rate(services.settings.broadcast_rate, services.settings.allow_paid_broadcast)
    engine = DeliveryEngine(services.deliveries, TelegramSender(bot), config, clock, observer=metrics)
    scheduler = DigestScheduler(
        services.subscriptions, services.deliveries, builder, engine, DigestRenderer(i18n), clock
    )
    directory = TelegramChannels(bot)
    subscriptions = SubscriptionService(
        services.subscriptions,
        builder,
        directory,
        services.audit_log,
        clock,
        services.settings.default_timezone,
    )
    digests = Digests(
        subscriptions, scheduler, engine, DeliveryLedger(services.deliveries, engine, services.audit_log)
    )
    dp["subscriptions"] = subscriptions
    dp["digest_scheduler"] = scheduler
    dp["digest_ledger"] = digests.ledger

    # The scheduler and the engine run only in the process holding the worker lease (bot/app/lease.py).
    work = DigestWork(
        services.backend.leases,
        scheduler,
        services.corpus.on_saved,
        metrics.set_active_worker if metrics is not None else None,
    )
    dp["digest_work"] = work

    async def start_digests(bot: Bot) -> None:
        me = await bot.me()
        await work.start(me.username or "bot")

    async def stop_digests() -> None:
        await work.stop()

    # A `web` process answers updates only: it never schedules or sends (bot/app/roles.py).
    if services.settings.bot_role is not BotRole.WEB:
        dp.startup.register(start_digests)
        dp.shutdown.register(stop_digests)
    return digests


def attach_metrics(dp: Dispatcher, services: Services) -> Metrics:
    """This bot's metrics: every update timed, searches and saved texts counted while `dp` runs."""
    metrics = Metrics(services.deliveries)
    dp.update.outer_middleware(UpdateMetrics(metrics))

    async def watch() -> None:
        services.corpus.on_saved.append(metrics.saved)
        services.reader.on_search.append(metrics.searched)

    async def unwatch() -> None:
        with contextlib.suppress(ValueError):
            services.corpus.on_saved.remove(metrics.saved)
        with contextlib.suppress(ValueError):
            services.reader.on_search.remove(metrics.searched)

    dp.startup.register(watch)
    dp.shutdown.register(unwatch)
    return metrics


@dataclass
class BotApp:
    """What the bot adds on top of the container, built the same way for `python -m bot`, the playground
    and the tests: the Dispatcher, the translations, the digest machinery, the command menus."""

    dp: Dispatcher
    i18n: I18n
    digests: Digests
    menus: AdminMenus
    metrics: Metrics
    readiness: Readiness  # /readyz (bot/app/health.py)

    @classmethod
    def build(cls, services: Services, bot: Bot) -> BotApp:
        i18n = make_i18n(services.settings.default_language)
        dp = build_dispatcher(services, i18n)
        metrics = attach_metrics(dp, services)
        metrics.watch_session(bot.session)  # 429s of replies and digests alike
        digests = attach_digests(dp, services, bot, i18n, metrics)
        attach_sources(dp, services, bot)
        readiness = Readiness(services.backend.ping, bot, redis_url=services.settings.redis_url)
        dp.shutdown.register(readiness.close)
        return cls(dp, i18n, digests, dp["admin_menus"], metrics, readiness)

    async def set_menus(self, bot: Bot) -> None:
        """The reader commands for everyone, and each admin's own (see AdminMenus for a refused one)."""
        await set_commands(bot, self.i18n)
        await self.menus.set_all(bot)
