"""Readers, saved search queries and the search log on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import LoggedSearch, User
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import now

__all__ = ["QueryRepository", "UserRepository"]


class UserRepository:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def get(self, user_id: int) -> User | None:
        row = await self.db.fetchrow(
            "SELECT user_id, language, first_name, username, first_seen, last_seen FROM users WHERE user_id = $1",
            user_id,
        )
        return User(row[0], row[1], row[2], row[3], row[4], row[5]) if row is not None else None

    async def touch(self, user_id: int, first_name: str | None, username: str | None) -> None:
        await self.db.execute(
            "INSERT INTO users (user_id, first_name, username, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4) "
            "ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, "
            "username = excluded.username, last_seen = excluded.last_seen",
            user_id,
            first_name,
            username,
            now(),
        )

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute(
            "INSERT INTO users (user_id, language, first_seen, last_seen) VALUES ($1, $2, $3, $3) "
            "ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
            user_id,
            language,
            now(),
        )

    async def count(self) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM users")


class QueryRepository:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def save(self, user_id: int, query: str) -> int:
        rows = await self.db.write(
            "INSERT INTO saved_queries (user_id, query, created_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, query) DO UPDATE SET query = excluded.query RETURNING id",
            user_id,
            query,
            now(),
        )
        return int(rows[0][0])

    async def get(self, query_id: int, user_id: int) -> str | None:
        value = await self.db.fetchval(
            "SELECT query FROM saved_queries WHERE id = $1 AND user_id = $2", query_id, user_id
        )
        return str(value) if value is not None else None

    async def log(self, user_id: int | None, query: str, results: int, via: str) -> None:
        await self.db.execute(
            "INSERT INTO search_log (at, user_id, query, results, via) VALUES ($1, $2, $3, $4, $5)",
            now(),
            user_id,
            query[:500],
            results,
            via,
        )

    async def log_many(self, entries: Sequence[LoggedSearch]) -> None:
        """A batch of searches in one statement (bot.search_log buffers them)."""
        await self.db.executemany(
            "INSERT INTO search_log (at, user_id, query, results, via) VALUES ($1, $2, $3, $4, $5)",
            [(e.at.replace(microsecond=0), e.user_id, e.query[:500], e.results, e.via) for e in entries],
        )

    async def per_day(self, days: int = 30) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) FROM search_log "
            "GROUP BY day ORDER BY day DESC LIMIT $1",
            days,
        )
        return [(r[0], int(r[1])) for r in rows]
