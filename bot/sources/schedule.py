"""The polling job: an APScheduler job in the bot's process that runs one pass over the due sources.

A pass polls only what is due (each source has its own next time, jittered, backed off when failing), so
the job can tick often and stay cheap. Started and stopped with the dispatcher; a pass in progress when it
stops is cancelled (waiting for slow feeds would hold the stop for minutes): each item is stored in a
transaction of its own with its record, so a cancelled pass leaves nothing half-done, and the sources it
did not finish are still due at the next start.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.periodic import start_periodic
from bot.sources.service import SourceService

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0


class SourcePoller:
    def __init__(self, service: SourceService, *, tick_seconds: float = TICK_SECONDS) -> None:
        self.service = service
        self.tick_seconds = tick_seconds
        self._aps: AsyncIOScheduler | None = None
        self._running: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        self._stopped = False
        self._aps = start_periodic(self._tick, self.tick_seconds, "sources")

    async def stop(self) -> None:
        self._stopped = True
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        running = self._running
        if running is not None and not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    async def _tick(self) -> None:
        if self._stopped:
            return
        self._running = asyncio.current_task()
        try:
            reports = await self.service.poll_due()
        except asyncio.CancelledError:
            log.info("sources pass cancelled by the stop")
            return
        except Exception:
            log.exception("sources pass failed")
            return
        finally:
            self._running = None
        if reports:
            added = sum(len(r.added) for r in reports)
            failed = sum(r.failed for r in reports)
            log.info("sources pass: %d polled, %d new texts, %d failed", len(reports), added, failed)
