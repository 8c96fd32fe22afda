"""What a process does, by BOT_ROLE (or `python -m bot --role …`):

- `all` (the default): everything in one process, as the bot always ran: updates by polling or webhook,
  and the digests — while it holds the worker lease, so two of them on one database never both schedule.
- `web`: answers updates on the webhook server; never schedules, never broadcasts, never registers the
  webhook (that is `python -m bot webhook set`). Any number of them behind a load balancer.
- `worker`: the digest scheduler and the delivery engine, no update handling. Several may run: the one
  holding the worker lease works, the others stand by and take over within seconds when it is gone.

Digests queued by any process (a reader's "send now" on a web worker, the CLI's ingest making instant
digests due) are picked up by the active worker's engine, which polls the ledger when idle.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiogram import Bot

from bot.app.container import Services
from bot.app.dispatcher import BotApp
from bot.app.settings import BotMode, BotRole, Settings

log = logging.getLogger(__name__)


def role_problem(settings: Settings) -> str | None:
    """What the chosen role still needs, in one line (the webhook's own checks are the runner's)."""
    if settings.bot_role is BotRole.WEB and settings.webhook_secret is None:
        # A web worker is a webhook server: without the secret anyone could post updates "from" an admin.
        return "BOT_ROLE=web serves the webhook and needs WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -)."
    return None


def takes_instance_lock(settings: Settings) -> bool:
    """Only one process may poll a bot's updates; web and worker processes run several per database."""
    return settings.bot_role is BotRole.ALL and settings.bot_mode is BotMode.POLLING


async def run_worker(app: BotApp, services: Services, bot: Bot, stop: asyncio.Event | None = None) -> None:
    """The worker role until SIGINT/SIGTERM (or `stop`): the dispatcher's start-up and shutdown hooks run
    (the digests start behind the lease there), but no update is ever fetched or answered."""
    dp = app.dp
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    context = {"dispatcher": dp, "bots": [bot], **dp.workflow_data}
    await dp.emit_startup(bot=bot, **context)
    try:
        log.info(
            "worker started; database %s; the one holding the lease schedules and sends digests",
            "PostgreSQL" if services.settings.database_url else services.settings.database_path,
        )
        await stop.wait()
    finally:
        await dp.emit_shutdown(bot=bot, **context)
