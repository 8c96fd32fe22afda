"""Named leases on SQLite: one row per lease (holder, expires_at), taken or renewed by compare-and-set.

Every process on the database file sees the same row; a holder that stops renewing (killed, hung) loses
the lease once it expires, and the next process that asks takes it over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database
from storage.subscriptions import to_db_time

__all__ = ["LeaseRepository"]


class LeaseRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        # One statement, so two processes asking at once cannot both win: the row is inserted, or updated
        # only when it is ours already or has expired.
        rows = await self.db.write(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at < ? RETURNING holder",
            (name, holder, to_db_time(now + ttl), to_db_time(now)),
        )
        return bool(rows)

    async def release(self, name: str, holder: str) -> None:
        await self.db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def holder(self, name: str, now: datetime) -> str | None:
        value = await self.db.scalar(
            "SELECT holder FROM leases WHERE name = ? AND expires_at >= ?", (name, to_db_time(now))
        )
        return str(value) if value is not None else None

    async def close(self) -> None:
        """Nothing of its own to close: the rows live in the database."""
