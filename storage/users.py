"""Readers (their interface language), saved search queries and the search log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from storage.db import Database
from storage.models import LoggedSearch, User

__all__ = ["QueryRepository", "User", "UserRepository"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> User | None:
        row = await self.db.fetchone(
            "SELECT user_id, language, first_name, username, first_seen, last_seen FROM users WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return User(
            row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), datetime.fromisoformat(row[5])
        )

    async def touch(self, user_id: int, first_name: str | None, username: str | None) -> None:
        now = _now()
        await self.db.write(
            "INSERT INTO users (user_id, first_name, username, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET first_name = excluded.first_name, "
            "username = excluded.username, last_seen = excluded.last_seen",
            (user_id, first_name, username, now, now),
        )

    async def set_language(self, user_id: int, language: str) -> None:
        now = _now()
        await self.db.write(
            "INSERT INTO users (user_id, language, first_seen, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET language = excluded.language",
            (user_id, language, now, now),
        )

    async def count(self) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM users")


class QueryRepository:
    """Search queries get a short id so that paging buttons fit Telegram's 64-byte callback data."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, user_id: int, query: str) -> int:
        """The id of `user_id`'s saved `query` (saved now if new): only that user can read it back."""
        # The no-op update makes RETURNING give the id of an existing row too: one statement, one hop.
        rows = await self.db.write(
            "INSERT INTO saved_queries (user_id, query, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id, query) DO UPDATE SET query = excluded.query RETURNING id",
            (user_id, query, _now()),
        )
        return int(rows[0][0])

    async def get(self, query_id: int, user_id: int) -> str | None:
        """The query saved under `query_id` by `user_id`; None for an unknown id or another user's."""
        value = await self.db.scalar(
            "SELECT query FROM saved_queries WHERE id = ? AND user_id = ?", (query_id, user_id)
        )
        return str(value) if value is not None else None

    async def log(self, user_id: int | None, query: str, results: int, via: str) -> None:
        await self.db.write(
            "INSERT INTO search_log (at, user_id, query, results, via) VALUES (?, ?, ?, ?, ?)",
            (_now(), user_id, query[:500], results, via),
        )

    async def log_many(self, entries: Sequence[LoggedSearch]) -> None:
        """A batch of searches in one statement and one commit (bot.search_log buffers them)."""
        if entries:
            await self.db.executemany(
                "INSERT INTO search_log (at, user_id, query, results, via) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        e.at.astimezone(UTC).isoformat(timespec="seconds"),
                        e.user_id,
                        e.query[:500],
                        e.results,
                        e.via,
                    )
                    for e in entries
                ],
            )

    async def per_day(self, days: int = 30) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT substr(at, 1, 10) AS day, count(*) FROM search_log GROUP BY day ORDER BY day DESC LIMIT ?",
            (days,),
        )
        return [(r[0], int(r[1])) for r in rows]
