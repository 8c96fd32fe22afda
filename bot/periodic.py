"""A job that runs at once and then every few seconds, one run at a time: the digest scheduler's tick and
the sources poller's share this shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger


def start_periodic(job: Callable[[], Awaitable[None]], seconds: float, job_id: str) -> AsyncIOScheduler:
    """A started scheduler running `job` now (after a downtime, what fell due meanwhile is done at once) and
    every `seconds`; a run that would overlap the previous one is skipped, missed runs count as one."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        job,
        IntervalTrigger(seconds=seconds),
        id=job_id,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.start()
    return scheduler
