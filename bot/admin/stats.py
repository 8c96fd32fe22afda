"""The figures of /stats: the corpus, readers, searches, subscriptions and deliveries, and the weekly series
the chart draws (bot/admin/chart.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.admin.chart import ChartLabels, render_chart
from bot.clock import Clock
from bot.search_log import SearchLog
from storage.interfaces import DeliveryStore, DocumentStore, ReportStore, SubscriptionStore, UserStore
from storage.models import CorpusStats
from storage.models import State as DeliveryState

CHART_WEEKS = 52
MAX_CHART_WEEKS = 3 * 52
SEARCH_DAYS = 14


@dataclass(frozen=True)
class SubscriptionFigures:
    """Readers subscribed to digests, channels the bot posts to, digest deliveries sent and failed."""

    subscribers: int
    paused: int
    channels: int
    digests_sent: int
    digests_failed: int
    digests_unknown: int = 0  # the bot stopped before Telegram answered: may have missed their digest


@dataclass(frozen=True)
class AdminStats:
    corpus: CorpusStats
    readers: int
    searches_per_day: tuple[tuple[date, int], ...]
    documents_per_week: tuple[tuple[date, int], ...]
    # Running totals at the end of each week.
    readers_over_time: tuple[tuple[date, int], ...]
    subscribers_over_time: tuple[tuple[date, int], ...]
    subscriptions: SubscriptionFigures


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def per_week(days: Iterable[tuple[date, int]]) -> list[tuple[date, int]]:
    weeks: dict[date, int] = {}
    for day, n in days:
        weeks[week_of(day)] = weeks.get(week_of(day), 0) + n
    return sorted(weeks.items())


def cumulative(points: Iterable[tuple[date, int]]) -> list[tuple[date, int]]:
    total = 0
    out = []
    for day, n in points:
        total += n
        out.append((day, total))
    return out


def running_totals(changes: Iterable[tuple[date, int]], since: date, until: date) -> list[tuple[date, int]]:
    """Weekly running totals from `since` to `until` (week starts), counting what happened before too."""
    totals = cumulative(per_week(changes))
    before = [n for week, n in totals if week < since]
    inside = [(week, n) for week, n in totals if since <= week <= until]
    out = ([(since, before[-1])] if before and (not inside or inside[0][0] > since) else []) + inside
    if out and out[-1][0] < until:
        out.append((until, out[-1][1]))
    return out


class StatsService:
    def __init__(
        self,
        documents: DocumentStore,
        reports: ReportStore,
        users: UserStore,
        subscriptions: SubscriptionStore,
        deliveries: DeliveryStore,
        clock: Clock,
        search_log: SearchLog | None = None,
    ) -> None:
        self.documents = documents
        self.reports = reports
        self.users = users
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self.clock = clock
        self.search_log = search_log  # written in batches: flushed first, so that /stats counts every search

    async def stats(self, today: date | None = None) -> AdminStats:
        """The figures of /stats; the chart's series cover the last CHART_WEEKS weeks up to `today`."""
        if self.search_log is not None:
            await self.search_log.flush()
        until = week_of(today or self.clock.now().date())
        weekly = per_week(await self.reports.documents_per_day())
        # The chart goes back to the first text (a corpus of older news is not cut at a year), within reason.
        earliest = until - timedelta(weeks=MAX_CHART_WEEKS - 1)
        since = min(
            until - timedelta(weeks=CHART_WEEKS - 1), max(earliest, weekly[0][0] if weekly else until)
        )
        documents = [(w, n) for w, n in weekly if since <= w <= until]
        readers = running_totals(await self.reports.readers_per_day(), since, until)
        subscribers = running_totals(await self.reports.subscribers_per_day(), since, until)
        counts = await self.subscriptions.counts()
        deliveries = await self.deliveries.counts()
        return AdminStats(
            corpus=await self.documents.stats(),
            readers=await self.users.count(),
            searches_per_day=tuple(await self.reports.searches_per_day(SEARCH_DAYS)),
            documents_per_week=tuple(documents),
            readers_over_time=tuple(readers),
            subscribers_over_time=tuple(subscribers),
            subscriptions=SubscriptionFigures(
                subscribers=counts.people,
                paused=counts.paused,
                channels=counts.channels,
                digests_sent=deliveries.get(DeliveryState.SENT, 0),
                # Blocked: the reader blocked the bot or the channel removed it; the digest did not arrive.
                digests_failed=deliveries.get(DeliveryState.FAILED, 0)
                + deliveries.get(DeliveryState.BLOCKED, 0),
                digests_unknown=deliveries.get(DeliveryState.UNKNOWN, 0),
            ),
        )

    async def chart(self, stats: AdminStats, labels: ChartLabels) -> bytes:
        # Drawn in a thread: a chart takes a while, and the Figure API keeps no global state.
        return await asyncio.to_thread(
            render_chart,
            stats.documents_per_week,
            stats.readers_over_time,
            stats.subscribers_over_time,
            labels,
        )
