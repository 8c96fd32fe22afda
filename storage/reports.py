"""Figures for the admins' /stats: how the corpus and the readership grew."""

from __future__ import annotations

from datetime import date

from storage.db import Database


class ReportRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def documents_per_day(self) -> list[tuple[date, int]]:
        """Documents per publication day (the upload day for undated ones), oldest first."""
        rows = await self.db.fetchall(
            "SELECT coalesce(published, substr(created_at, 1, 10)) AS day, count(*) FROM documents "
            "GROUP BY day ORDER BY day"
        )
        return [(date.fromisoformat(r[0]), int(r[1])) for r in rows]

    async def readers_per_day(self) -> list[tuple[date, int]]:
        """People who first wrote to the bot, per day, oldest first."""
        rows = await self.db.fetchall(
            "SELECT substr(first_seen, 1, 10) AS day, count(*) FROM users GROUP BY day ORDER BY day"
        )
        return [(date.fromisoformat(r[0]), int(r[1])) for r in rows]

    async def searches_per_day(self, days: int) -> list[tuple[date, int]]:
        """Searches (chat and inline) per day for the last `days` days that had any, oldest first."""
        rows = await self.db.fetchall(
            "SELECT day, n FROM (SELECT substr(at, 1, 10) AS day, count(*) AS n FROM search_log "
            "GROUP BY day ORDER BY day DESC LIMIT ?) ORDER BY day",
            (days,),
        )
        return [(date.fromisoformat(r[0]), int(r[1])) for r in rows]

    async def subscribers_per_day(self) -> list[tuple[date, int]]:
        """Change of the number of people subscribed to digests, per day, oldest first: +1 on the day a
        subscription was made, -1 on the day it ended (its last update)."""
        rows = await self.db.fetchall(
            "SELECT day, sum(n) FROM ("
            "SELECT substr(created_at, 1, 10) AS day, count(*) AS n FROM subscriptions "
            "WHERE kind = 'person' GROUP BY day "
            "UNION ALL SELECT substr(updated_at, 1, 10) AS day, -count(*) AS n FROM subscriptions "
            "WHERE kind = 'person' AND active = 0 GROUP BY day"
            ") GROUP BY day ORDER BY day"
        )
        return [(date.fromisoformat(r[0]), int(r[1])) for r in rows]
