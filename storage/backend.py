"""One backend, opened from a location: the database and every repository on it, typed by the Protocols.

A path or `sqlite:///path` opens SQLite; `postgresql://user@host:port/db` (or `postgres://`) opens
PostgreSQL (storage.postgres). Both run through the same contract tests (tests/storage/).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storage.archive import ArchiveRepository
from storage.audit import AuditRepository
from storage.db import Database
from storage.deliveries import DeliveryRepository
from storage.documents import DocumentRepository
from storage.interfaces import (
    ArchiveStore,
    AuditStore,
    DeliveryStore,
    DocumentStore,
    LeaseStore,
    PendingStore,
    QueryStore,
    ReportStore,
    SourceStore,
    SubscriptionStore,
    Transactions,
    UserStore,
)
from storage.leases import LeaseRepository
from storage.pending import PendingRepository
from storage.reports import ReportRepository
from storage.sources import SourceRepository
from storage.subscriptions import SubscriptionRepository
from storage.users import QueryRepository, UserRepository

if TYPE_CHECKING:
    # Imported when a PostgreSQL location is opened: asyncpg costs a process on SQLite ~3 MB.
    from storage.postgres.db import PostgresDatabase

SQLITE_SCHEME = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Backend:
    database: Database | PostgresDatabase
    transactions: Transactions
    documents: DocumentStore
    users: UserStore
    queries: QueryStore
    audit: AuditStore
    pending: PendingStore
    reports: ReportStore
    subscriptions: SubscriptionStore
    deliveries: DeliveryStore
    archive: ArchiveStore  # whole-corpus export and import
    leases: LeaseStore  # the active worker's lease
    sources: SourceStore

    async def close(self) -> None:
        await self.leases.close()
        await self.database.close()

    async def ping(self) -> None:
        """A trivial query that reads the schema; raises whatever the database raises when it cannot."""
        if isinstance(self.database, Database):
            await self.database.scalar("SELECT count(*) FROM sqlite_master")
        else:
            await self.database.fetchval("SELECT 1")


def sqlite_path(location: str | Path) -> Path | str:
    """The file of an SQLite location: a path, `sqlite:///relative`, `sqlite:////absolute` or `:memory:`."""
    text = str(location)
    if text.startswith(SQLITE_SCHEME):
        text = text[len(SQLITE_SCHEME) :]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"no storage backend for {scheme!r} (SQLite paths, or postgresql://)")
    return text if text == ":memory:" else Path(text)


def sqlite_backend(database: Database) -> Backend:
    """Every repository on an (opened or not yet opened) SQLite database."""
    documents = DocumentRepository(database)
    return Backend(
        database=database,
        transactions=database,
        documents=documents,
        archive=ArchiveRepository(database, documents),
        users=UserRepository(database),
        queries=QueryRepository(database),
        audit=AuditRepository(database),
        pending=PendingRepository(database),
        reports=ReportRepository(database),
        subscriptions=SubscriptionRepository(database),
        deliveries=DeliveryRepository(database),
        leases=LeaseRepository(database),
        sources=SourceRepository(database),
    )


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(POSTGRES_SCHEMES)


def postgres_backend(database: PostgresDatabase) -> Backend:
    """Every repository on an (opened or not yet opened) PostgreSQL database."""
    from storage.postgres import audit, deliveries, documents, pending, reports, sources, subscriptions, users
    from storage.postgres.archive import ArchiveRepository as PostgresArchive
    from storage.postgres.leases import AdvisoryLeases

    document_store = documents.DocumentRepository(database)
    return Backend(
        database=database,
        transactions=database,
        documents=document_store,
        archive=PostgresArchive(database, document_store),
        users=users.UserRepository(database),
        queries=users.QueryRepository(database),
        audit=audit.AuditRepository(database),
        pending=pending.PendingRepository(database),
        reports=reports.ReportRepository(database),
        subscriptions=subscriptions.SubscriptionRepository(database),
        deliveries=deliveries.DeliveryRepository(database),
        leases=AdvisoryLeases(database),
        sources=sources.SourceRepository(database),
    )


async def open_backend(location: str | Path) -> Backend:
    """Open (creating and migrating when needed) the database at `location`."""
    if is_postgres(location):
        from storage.postgres.db import PostgresDatabase

        pg = PostgresDatabase(str(location))
        await pg.connect()
        return postgres_backend(pg)
    database = Database(sqlite_path(location))
    await database.connect()
    return sqlite_backend(database)
