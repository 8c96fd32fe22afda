"""One backend, opened from a location: the database and every repository on it, typed by the Protocols.

A path or `sqlite:///path` opens SQLite (the only backend so far). A PostgreSQL backend adds its scheme
here and is then run through the same contract tests (tests/storage/) by adding it to their `backend`
fixture.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.audit import AuditRepository
from storage.db import Database
from storage.deliveries import DeliveryRepository
from storage.documents import DocumentRepository
from storage.interfaces import (
    AuditStore,
    DeliveryStore,
    DocumentStore,
    PendingStore,
    QueryStore,
    ReportStore,
    SubscriptionStore,
    Transactions,
    UserStore,
)
from storage.pending import PendingRepository
from storage.reports import ReportRepository
from storage.subscriptions import SubscriptionRepository
from storage.users import QueryRepository, UserRepository

SQLITE_SCHEME = "sqlite:///"


@dataclass(frozen=True)
class Backend:
    database: Database
    transactions: Transactions
    documents: DocumentStore
    users: UserStore
    queries: QueryStore
    audit: AuditStore
    pending: PendingStore
    reports: ReportStore
    subscriptions: SubscriptionStore
    deliveries: DeliveryStore

    async def close(self) -> None:
        await self.database.close()


def sqlite_path(location: str | Path) -> Path | str:
    """The file of an SQLite location: a path, `sqlite:///relative`, `sqlite:////absolute` or `:memory:`."""
    text = str(location)
    if text.startswith(SQLITE_SCHEME):
        text = text[len(SQLITE_SCHEME) :]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"no storage backend for {scheme!r} yet (only SQLite)")
    return text if text == ":memory:" else Path(text)


def sqlite_backend(database: Database) -> Backend:
    """Every repository on an (opened or not yet opened) SQLite database."""
    return Backend(
        database=database,
        transactions=database,
        documents=DocumentRepository(database),
        users=UserRepository(database),
        queries=QueryRepository(database),
        audit=AuditRepository(database),
        pending=PendingRepository(database),
        reports=ReportRepository(database),
        subscriptions=SubscriptionRepository(database),
        deliveries=DeliveryRepository(database),
    )


async def open_backend(location: str | Path) -> Backend:
    """Open (creating and migrating when needed) the database at `location`."""
    database = Database(sqlite_path(location))
    await database.connect()
    return sqlite_backend(database)
