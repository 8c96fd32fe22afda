"""Prometheus metrics: one registry per bot, built with the dispatcher and passed to what feeds it.

Nothing here is a module global: tests and benchmarks run several bots in one process, and each must count
its own. The domain never imports prometheus: the delivery engine reports through its `DeliveryObserver`
protocol, the corpus through `on_saved`, the reader through `on_search`; this module turns those calls
into counters. Queue depth is read from the ledger when /metrics is scraped, not kept up to date.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.client.session.base import BaseSession
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from bot.app.session import RedactingSession
from bot.digests.delivery import Outcome
from storage.interfaces import DeliveryStore
from storage.models import State

log = logging.getLogger(__name__)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "UpdateMetrics"]

# Seconds; a search over 100k texts is tens of ms, an upload's preview can take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Deliveries still to be done: the queue.
OPEN_STATES = frozenset({State.PENDING, State.SENDING})


class Metrics:
    """Every metric of one bot process, in its own registry (`render()` is what /metrics serves)."""

    def __init__(self, deliveries: DeliveryStore | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._deliveries = deliveries
        r = self.registry
        self.updates = Counter(
            "alatau_updates", "Telegram updates handled, by type and result", ["type", "result"], registry=r
        )
        self.update_seconds = Histogram(
            "alatau_update_seconds",
            "Time to handle one update, by type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.searches = Counter("alatau_searches", "Searches readers made, by where", ["via"], registry=r)
        self.documents_saved = Counter("alatau_documents_saved", "Documents saved to the corpus", registry=r)
        self.deliveries = Counter(
            "alatau_digest_deliveries",
            "Digest delivery attempts by outcome (sent, failed, blocked, cancelled, retry, flood)",
            ["outcome"],
            registry=r,
        )
        # Counted where every request passes (the session), replies and digests alike; the digests' share
        # is `alatau_digest_deliveries_total{outcome="flood"}`.
        self.flood_waits = Counter(
            "alatau_telegram_429",
            "429 Too Many Requests answers of the Bot API to this process (replies and digests)",
            registry=r,
        )
        self.unknown = Counter(
            "alatau_digest_unknown", "Deliveries found in flight at start: outcome unknown", registry=r
        )
        self.queue = Gauge(
            "alatau_delivery_queue",
            "Deliveries not yet done (pending or sending), read on scrape",
            registry=r,
        )
        self.ledger = Gauge(
            "alatau_deliveries", "Rows of the delivery ledger by state, read on scrape", ["state"], registry=r
        )
        self.active_worker = Gauge(
            "alatau_active_worker",
            "1 while this process runs the scheduler and the delivery engine",
            registry=r,
        )

    # -- what the domain reports ------------------------------------------------------------------------

    def delivered(self, outcome: Outcome) -> None:
        """The delivery engine's `DeliveryObserver`: one attempt's outcome."""
        self.deliveries.labels(outcome.value).inc()

    def in_doubt(self, count: int) -> None:
        """The delivery engine's `DeliveryObserver`: rows a previous process left in flight."""
        self.unknown.inc(count)

    def saved(self, doc_ids: list[int]) -> None:
        """A `Corpus.on_saved` listener."""
        self.documents_saved.inc(len(doc_ids))

    def searched(self, via: str) -> None:
        """A `ReaderService.on_search` listener."""
        self.searches.labels(via).inc()

    def flooded(self, method: TelegramMethod[Any], retry_after: float) -> None:
        """A `RedactingSession.on_flood` listener: one 429, whatever the request."""
        self.flood_waits.inc()

    def watch_session(self, session: BaseSession) -> None:
        """Count the 429s of the bot's requests (a session other than ours has no hook: none counted)."""
        if isinstance(session, RedactingSession) and self.flooded not in session.on_flood:
            session.on_flood.append(self.flooded)

    def set_active_worker(self, active: bool) -> None:
        self.active_worker.set(1 if active else 0)

    # -- exposition -----------------------------------------------------------------------------------------

    async def render(self) -> bytes:
        """The text format of every metric, with the ledger's figures read now."""
        if self._deliveries is not None:
            try:
                counts = await self._deliveries.counts()
            except Exception:
                # A scrape must still answer: the gauges keep their last values, the log says why.
                log.warning("metrics: the delivery ledger could not be read", exc_info=True)
            else:
                for state in State:
                    self.ledger.labels(state.value).set(counts.get(state, 0))
                self.queue.set(sum(n for state, n in counts.items() if state in OPEN_STATES))
        return generate_latest(self.registry)


class UpdateMetrics(BaseMiddleware):
    """Outer middleware on the Update observer: counts every update and times its whole handling."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        result = "error"
        try:
            response = await handler(event, data)
            result = "unhandled" if response is UNHANDLED else "handled"
            return response
        finally:
            self.metrics.update_seconds.labels(kind).observe(time.perf_counter() - started)
            self.metrics.updates.labels(kind, result).inc()
