"""Sources in the bot's process: the service that can check channels through the Bot (for the handlers),
and the polling job, started and stopped with the dispatcher (stopped before the container closes).

With several processes on one database, exactly one polls: the one holding the `sources` lease (the same
mechanism as the digests' active worker, bot/app/lease.py); a `web` process never polls."""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from bot.app.container import Services
from bot.app.lease import ActiveWorker
from bot.app.settings import BotRole
from bot.digests.telegram import TelegramChannels
from bot.sources.schedule import SourcePoller

SOURCES_LEASE = "sources"


def attach_sources(dp: Dispatcher, services: Services, bot: Bot) -> SourcePoller:
    sources = services.sources.with_channels(TelegramChannels(bot))
    poller = SourcePoller(sources)
    dp["sources"] = sources
    settings = services.settings
    if settings.sources_enabled and settings.bot_role is not BotRole.WEB:
        lease = ActiveWorker(services.backend.leases, poller.start, poller.stop, name=SOURCES_LEASE)
        dp.startup.register(lease.start)
        dp.shutdown.register(lease.stop)
    return poller
