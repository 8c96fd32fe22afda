"""Figures for the admins' /stats, on PostgreSQL (days in UTC, as SQLite's stored times are)."""

from __future__ import annotations

from datetime import date

from storage.postgres.db import PostgresDatabase

_DAY = "(({}) AT TIME ZONE 'UTC')::date"


class ReportRepository:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def documents_per_day(self) -> list[tuple[date, int]]:
        rows = await self.db.fetch(
            f"SELECT coalesce(published, {_DAY.format('created_at')}) AS day, count(*) FROM documents "
            "GROUP BY day ORDER BY day"
        )
        return [(r[0], int(r[1])) for r in rows]

    async def readers_per_day(self) -> list[tuple[date, int]]:
        rows = await self.db.fetch(
            f"SELECT {_DAY.format('first_seen')} AS day, count(*) FROM users GROUP BY day ORDER BY day"
        )
        return [(r[0], int(r[1])) for r in rows]

    async def searches_per_day(self, days: int) -> list[tuple[date, int]]:
        rows = await self.db.fetch(
            f"SELECT day, n FROM (SELECT {_DAY.format('at')} AS day, count(*) AS n FROM search_log "
            "GROUP BY day ORDER BY day DESC LIMIT $1) AS t ORDER BY day",
            days,
        )
        return [(r[0], int(r[1])) for r in rows]

    async def subscribers_per_day(self) -> list[tuple[date, int]]:
        rows = await self.db.fetch(
            "SELECT day, sum(n) FROM ("
            f"SELECT {_DAY.format('created_at')} AS day, count(*) AS n FROM subscriptions "
            "WHERE kind = 'person' GROUP BY day "
            f"UNION ALL SELECT {_DAY.format('updated_at')} AS day, -count(*) AS n FROM subscriptions "
            "WHERE kind = 'person' AND NOT active GROUP BY day"
            ") AS t GROUP BY day ORDER BY day"
        )
        return [(r[0], int(r[1])) for r in rows]
