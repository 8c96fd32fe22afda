"""Exactly one active worker among many: the one that holds the `worker` lease runs the digest scheduler
and the delivery engine; the others stand by and try again every few seconds.

The lease itself is storage's (`LeaseStore`): a row renewed by compare-and-set on SQLite, an advisory lock
on PostgreSQL. Here is only the loop around it: take it, keep renewing it, start the work when it is
taken and stop the work the moment a renewal fails (someone else may hold it by then).

Why one: Telegram's broadcast limit is for the bot as a whole, and the engine paces itself to
BROADCAST_RATE; with a single active engine the limit holds across all processes by construction.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import SystemClock
from bot.digests.schedule import DigestScheduler
from storage.interfaces import LeaseStore

log = logging.getLogger(__name__)

WORKER_LEASE = "worker"
# A holder renews every RENEW seconds; a lease not renewed for TTL seconds may be taken over; a standby
# asks every RETRY seconds. A dead active worker is replaced within TTL + RETRY (about 10 s).
TTL_SECONDS = 8.0
RENEW_SECONDS = 2.5
RETRY_SECONDS = 2.0


class ActiveWorker:
    """Runs `on_active` once this process holds the lease, `on_lost` when it no longer does (lost or
    stopped). An async context manager, or `start()` / `stop()`."""

    def __init__(
        self,
        leases: LeaseStore,
        on_active: Callable[[], Awaitable[None]],
        on_lost: Callable[[], Awaitable[None]],
        *,
        name: str = WORKER_LEASE,
        now: Callable[[], datetime] | None = None,
        ttl: float = TTL_SECONDS,
        renew_every: float = RENEW_SECONDS,
        retry_every: float = RETRY_SECONDS,
    ) -> None:
        self.leases = leases
        self.on_active = on_active
        self.on_lost = on_lost
        self.name = name
        # Wall time, whatever clock the digests use: the lease is between real processes.
        self.now = now or SystemClock().now
        self.ttl = timedelta(seconds=ttl)
        self.renew_every = renew_every
        self.retry_every = retry_every
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.active = False
        self._renewed_at = 0.0  # event loop time of the last renewal
        self._became_active = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ActiveWorker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Try once now (a lone process is active as soon as this returns), then keep trying or renewing in
        the background."""
        if self._task is None:
            await self._step()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"lease-{self.name}")

    async def stop(self) -> None:
        """Stop the work (when active) and hand the lease over at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.active:
            await self._lose()
        try:
            await self.leases.release(self.name, self.holder)
        except Exception:
            log.warning("could not release the %s lease; it expires on its own", self.name, exc_info=True)

    async def wait_active(self) -> None:
        await self._became_active.wait()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every if self.active else self.retry_every)
            await self._step()

    async def _step(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            held = await self.leases.acquire(self.name, self.holder, self.ttl, self.now())
        except Exception:
            # A busy database (another process's long write) is not a lost lease: nobody can take it
            # before it expires, so the work goes on until a renewal is overdue by then.
            held = (
                self.active and loop.time() - self._renewed_at < self.ttl.total_seconds() - self.renew_every
            )
            log.warning(
                "could not reach the %s lease (%s)",
                self.name,
                "still ours" if held else "lost",
                exc_info=True,
            )
        else:
            if held:
                self._renewed_at = loop.time()
        if held and not self.active:
            self.active = True
            log.info("this process is now the active worker (%s)", self.holder)
            try:
                await self.on_active()
            except Exception:
                log.exception("the active worker could not start; giving the lease up")
                await self._lose()
                await self.leases.release(self.name, self.holder)
            else:
                self._became_active.set()
        elif not held and self.active:
            log.warning("the %s lease is lost: stopping the work here (another worker takes over)", self.name)
            await self._lose()

    async def _lose(self) -> None:
        self.active = False
        self._became_active.clear()
        try:
            await self.on_lost()
        except Exception:
            log.exception("stopping the active worker's work failed")


class DigestWork:
    """The scheduler and the delivery engine of this process, running while it is the active worker.
    `subscribe_saves`: instant digests follow this process's own saves at once (others' within a tick)."""

    def __init__(
        self,
        leases: LeaseStore,
        scheduler: DigestScheduler,
        on_saved: list[Callable[[list[int]], None]],
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self._on_saved = on_saved
        self._on_change = on_change
        self._username = "bot"
        self.lease = ActiveWorker(leases, self._activate, self._deactivate)

    @property
    def active(self) -> bool:
        return self.lease.active

    async def start(self, bot_username: str) -> None:
        self._username = bot_username
        await self.lease.start()

    async def stop(self) -> None:
        await self.lease.stop()

    async def _activate(self) -> None:
        await self.scheduler.start(self._username)
        self._on_saved.append(self.scheduler.on_saved)
        if self._on_change is not None:
            self._on_change(True)

    async def _deactivate(self) -> None:
        if self.scheduler.on_saved in self._on_saved:
            self._on_saved.remove(self.scheduler.on_saved)
        await self.scheduler.stop()
        if self._on_change is not None:
            self._on_change(False)
