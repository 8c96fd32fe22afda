"""Every long-lived object of the application, built once here and closed here, shared by the CLI, the bot
and the scheduler. What needs a Telegram connection (the Bot, digests delivery, i18n for replies) is added
by the dispatcher factory on top of this."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.admin.audit import AuditLog
from bot.admin.documents import DocumentService
from bot.admin.stats import StatsService
from bot.admin.uploads import UploadService, UploadSettings
from bot.app.settings import Settings
from bot.clock import Clock, SystemClock
from bot.corpus.extract import Limits
from bot.corpus.ingest import Corpus
from bot.corpus.uploads import limits_for
from bot.reader import ReaderService
from bot.search import SearchService
from bot.search_log import SearchLog
from bot.sources.feeds import FeedFetcher, FetchSettings
from bot.sources.service import SourceService, SourceSettings
from bot.summaries import SummaryService
from bot.text.morph import Morphology
from bot.users import UserService
from storage.backend import Backend, open_backend
from storage.db import Database, unusable
from storage.interfaces import (
    AuditStore,
    DeliveryStore,
    PendingStore,
    QueryStore,
    ReportStore,
    SubscriptionStore,
    Transactions,
    UserStore,
)

if TYPE_CHECKING:
    # Imported when REDIS_URL is set: redis and aiogram's Redis storage cost a process without it ~6 MB.
    from bot.app.redis_app import RedisShared

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    clock: Clock  # the one time source of the services (tests pass a ManualClock)
    backend: Backend  # SQLite at DATABASE_PATH, or PostgreSQL at DATABASE_URL
    morph: Morphology
    limits: Limits  # what one uploaded or ingested file may cost (the bot's uploads and the CLI's ingest)
    # repositories
    users: UserStore
    queries: QueryStore
    audit: AuditStore
    pending: PendingStore
    reports: ReportStore
    subscriptions: SubscriptionStore
    deliveries: DeliveryStore
    # domain services
    corpus: Corpus
    search: SearchService
    summaries: SummaryService
    reader: ReaderService
    search_log: SearchLog  # written in batches; close() writes the rest
    user_service: UserService
    audit_log: AuditLog
    uploads: UploadService
    documents: DocumentService
    stats: StatsService
    fetcher: FeedFetcher  # one per process: its HTTP session and each host's turns (politeness)
    sources: SourceService
    redis: RedisShared | None = None  # with REDIS_URL: what the bot's processes share (bot/app/redis_app.py)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        load_sample: bool | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> Services:
        """Opens the database (DatabaseUnusable says why it cannot be) and builds everything on it.
        `read_only`: the caller only reads (the CLI's queries), so a read-only file is fine."""
        backend = await open_backend(settings.database_url or settings.database_path)
        db = backend.database
        try:
            if not read_only and isinstance(db, Database):
                await _check_writable(db)
            services = cls._build(settings, backend, clock or SystemClock())
            if settings.load_sample_corpus if load_sample is None else load_sample:
                added = await services.corpus.ensure_sample()
                if added:
                    log.info("empty database: loaded %d sample document(s)", added)
        except BaseException:
            await db.close()
            raise
        return services

    @classmethod
    def _build(cls, settings: Settings, backend: Backend, clock: Clock) -> Services:
        morph = Morphology()
        db: Transactions = backend.transactions
        corpus = Corpus(
            db,
            morph,
            min_chars=settings.min_text_chars,
            max_chars=settings.max_text_chars,
            repo=backend.documents,
        )
        search = SearchService(corpus)
        summaries = SummaryService(corpus)
        users, audit, pending = backend.users, backend.audit, backend.pending
        queries = backend.queries
        reports, subscriptions, deliveries = backend.reports, backend.subscriptions, backend.deliveries
        audit_log = AuditLog(audit, users)
        limits = limits_for(
            max_download_mb=settings.max_download_mb,
            max_text_chars=settings.max_text_chars,
            max_zip_files=settings.max_zip_files,
            max_zip_unpacked_mb=settings.max_zip_unpacked_mb,
        )
        upload_settings = UploadSettings(
            limits,
            settings.min_text_chars,
            settings.max_text_chars,
            settings.upload_progress_seconds,
            ZoneInfo(settings.default_timezone),
        )
        search_log = SearchLog(queries, clock)
        fetcher = FeedFetcher(fetch_settings(settings))
        sources = SourceService(
            backend.sources,
            corpus,
            search,
            fetcher,
            clock,
            SourceSettings(settings.sources_poll_minutes, settings.default_timezone),
            audit=audit_log,
        )
        return cls(
            settings=settings,
            clock=clock,
            backend=backend,
            morph=morph,
            limits=limits,
            users=users,
            queries=queries,
            audit=audit,
            pending=pending,
            reports=reports,
            subscriptions=subscriptions,
            deliveries=deliveries,
            corpus=corpus,
            search=search,
            summaries=summaries,
            reader=ReaderService(search, summaries, corpus.repo, queries, search_log),
            search_log=search_log,
            user_service=UserService(users),
            audit_log=audit_log,
            uploads=UploadService(db, corpus, pending, audit_log, upload_settings, clock),
            documents=DocumentService(
                db, corpus, corpus.repo, search, audit_log, audit, queries, settings.undo_minutes, clock
            ),
            stats=StatsService(corpus.repo, reports, users, subscriptions, deliveries, clock, search_log),
            fetcher=fetcher,
            sources=sources,
            redis=_redis(settings, corpus),
        )

    @property
    def db(self) -> Database:
        """The SQLite database, for tests and tools that run SQL of their own; PostgreSQL has none."""
        if not isinstance(self.backend.database, Database):
            raise RuntimeError("the database is not SQLite")
        return self.backend.database

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()
        await self.search_log.close()
        await self.uploads.close()
        await self.fetcher.close()
        await self.backend.close()


def _redis(settings: Settings, corpus: Corpus) -> RedisShared | None:
    if not settings.redis_url:
        return None
    from bot.app.redis_app import RedisShared

    return RedisShared(settings.redis_url, settings.redis_prefix, corpus, settings.admin_ids)


def fetch_settings(settings: Settings) -> FetchSettings:
    mb = 1024 * 1024
    return FetchSettings(
        user_agent=settings.sources_user_agent,
        timeout_s=settings.sources_timeout_seconds,
        max_feed_bytes=int(settings.sources_max_feed_mb * mb),
        max_page_bytes=int(settings.sources_max_page_mb * mb),
        host_delay_s=settings.sources_host_delay_seconds,
        allow_private=settings.sources_allow_private,
    )


async def _check_writable(db: Database) -> None:
    """A read-only file opens and reads fine; the first write would fail much later (a reader's /start, an
    admin's upload), so a start that will write tries one now: rewriting the schema version in place."""
    try:
        await db.write(f"PRAGMA user_version = {await db.schema_version()}")
    except sqlite3.Error as exc:
        raise unusable(db.path, exc) from exc
