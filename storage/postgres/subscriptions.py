"""Subscriptions to digests on PostgreSQL: one per chat and forum topic, with schedule and cursor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from storage.models import Frequency, Kind, NewSubscription, Subscription, SubscriptionCounts
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import now, to_db_time

__all__ = ["SubscriptionRepository"]

_SELECT = (
    "SELECT s.id, s.chat_id, s.kind, s.title, s.added_by, "
    "coalesce(CASE WHEN s.kind = 'person' THEN u.language END, s.language) AS language, "
    "s.frequency, s.weekday, s.local_time, s.timezone, s.filter_query, s.paused, s.active, "
    "s.inactive_reason, s.cursor, s.next_due_utc, s.last_digest_at, s.created_at, s.updated_at, "
    "s.thread_id, s.headlines_only, s.link_previews, s.silent, s.quiet_from, s.quiet_to "
    "FROM subscriptions s LEFT JOIN users u ON u.user_id = s.chat_id"
)
_COLUMNS = (
    "chat_id, kind, title, added_by, language, frequency, weekday, local_time, timezone, filter_query, "
    "cursor, next_due_utc, created_at, updated_at, thread_id"
)
_VALUES = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14"
# The unique index a subscription is known by: a chat, and a forum topic of it (0: none).
_KEY = "(chat_id, (coalesce(thread_id, 0)))"


def _row(r: asyncpg.Record) -> Subscription:
    return Subscription(
        id=r[0],
        chat_id=r[1],
        kind=Kind(r[2]),
        title=r[3],
        added_by=r[4],
        language=r[5],
        frequency=Frequency(r[6]),
        weekday=r[7],
        local_time=r[8],
        timezone=r[9],
        filter_query=r[10],
        paused=r[11],
        active=r[12],
        inactive_reason=r[13],
        cursor=r[14],
        next_due=r[15],
        last_digest_at=r[16],
        created_at=r[17],
        updated_at=r[18],
        thread_id=r[19],
        headlines_only=r[20],
        link_previews=r[21],
        silent=r[22],
        quiet_from=r[23],
        quiet_to=r[24],
    )


def _params(new: NewSubscription, stamp: datetime) -> tuple[object, ...]:
    return (
        new.chat_id,
        new.kind.value,
        new.title,
        new.added_by,
        new.language,
        new.frequency.value,
        new.weekday,
        new.local_time,
        new.timezone,
        new.filter_query,
        new.cursor,
        to_db_time(new.next_due),
        stamp,
        new.thread_id,
    )


class SubscriptionRepository:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def get(self, chat_id: int, thread_id: int | None = None) -> Subscription | None:
        row = await self.db.fetchrow(
            f"{_SELECT} WHERE s.chat_id = $1 AND coalesce(s.thread_id, 0) = $2", chat_id, thread_id or 0
        )
        return _row(row) if row is not None else None

    async def by_id(self, sub_id: int) -> Subscription | None:
        row = await self.db.fetchrow(f"{_SELECT} WHERE s.id = $1", sub_id)
        return _row(row) if row is not None else None

    async def get_many(self, chat_ids: Sequence[int]) -> list[Subscription]:
        if not chat_ids:
            return []
        rows = await self.db.fetch(
            f"{_SELECT} WHERE s.chat_id = ANY($1::bigint[]) ORDER BY s.id", list(chat_ids)
        )
        return [_row(r) for r in rows]

    async def upsert(self, new: NewSubscription) -> Subscription:
        await self.db.execute(
            f"INSERT INTO subscriptions ({_COLUMNS}) VALUES ({_VALUES}) ON CONFLICT {_KEY} DO UPDATE SET "
            "kind = excluded.kind, title = excluded.title, added_by = excluded.added_by, "
            "language = excluded.language, frequency = excluded.frequency, weekday = excluded.weekday, "
            "local_time = excluded.local_time, timezone = excluded.timezone, "
            "filter_query = excluded.filter_query, cursor = excluded.cursor, "
            "next_due_utc = excluded.next_due_utc, paused = false, active = true, inactive_reason = NULL, "
            "updated_at = excluded.updated_at",
            *_params(new, now()),
        )
        found = await self.get(new.chat_id, new.thread_id)
        assert found is not None
        return found

    async def add_many(self, items: Sequence[NewSubscription]) -> None:
        stamp = now()
        await self.db.executemany(
            f"INSERT INTO subscriptions ({_COLUMNS}) VALUES ({_VALUES}) ON CONFLICT {_KEY} DO NOTHING",
            [_params(item, stamp) for item in items],
        )

    async def save_settings(self, sub: Subscription) -> Subscription | None:
        await self.db.execute(
            "UPDATE subscriptions SET frequency = $1, weekday = $2, local_time = $3, timezone = $4, "
            "filter_query = $5, paused = $6, next_due_utc = $7, language = $8, title = $9, updated_at = $10, "
            "headlines_only = $12, link_previews = $13, silent = $14, quiet_from = $15, quiet_to = $16 "
            "WHERE id = $11",
            sub.frequency.value,
            sub.weekday,
            sub.local_time,
            sub.timezone,
            sub.filter_query,
            sub.paused,
            to_db_time(sub.next_due),
            sub.language,
            sub.title,
            now(),
            sub.id,
            sub.headlines_only,
            sub.link_previews,
            sub.silent,
            sub.quiet_from,
            sub.quiet_to,
        )
        return await self.by_id(sub.id)

    async def deactivate(self, chat_id: int, reason: str, thread_id: int | None = None) -> bool:
        changed = await self.db.execute(
            "UPDATE subscriptions SET active = false, inactive_reason = $1, updated_at = $2 "
            "WHERE chat_id = $3 AND coalesce(thread_id, 0) = $4 AND active",
            reason,
            now(),
            chat_id,
            thread_id or 0,
        )
        return changed > 0

    async def deactivate_chat(self, chat_id: int, reason: str) -> int:
        return await self.db.execute(
            "UPDATE subscriptions SET active = false, inactive_reason = $1, updated_at = $2 "
            "WHERE chat_id = $3 AND active",
            reason,
            now(),
            chat_id,
        )

    async def due(self, now: datetime, latest_doc_id: int, limit: int = 100_000) -> list[Subscription]:
        rows = await self.db.fetch(
            f"{_SELECT} WHERE s.active AND NOT s.paused AND ("
            "(s.frequency != 'instant' AND s.next_due_utc <= $1) "
            "OR (s.frequency = 'instant' AND s.cursor < $2)) ORDER BY s.id LIMIT $3",
            to_db_time(now),
            latest_doc_id,
            limit,
        )
        return [_row(r) for r in rows]

    async def advance(self, items: Sequence[tuple[int, int, datetime | None]]) -> None:
        stamp = now()
        await self.db.executemany(
            "UPDATE subscriptions SET cursor = greatest(cursor, $1), next_due_utc = $2, updated_at = $3 "
            "WHERE id = $4",
            [(cursor, to_db_time(due), stamp, sub_id) for sub_id, cursor, due in items],
        )

    async def channels(self) -> list[Subscription]:
        rows = await self.db.fetch(f"{_SELECT} WHERE s.kind = 'channel' ORDER BY s.active DESC, s.id")
        return [_row(r) for r in rows]

    async def counts(self) -> SubscriptionCounts:
        rows = await self.db.fetch(
            "SELECT kind, active, paused, coalesce(inactive_reason, ''), count(*) FROM subscriptions "
            "GROUP BY 1, 2, 3, 4"
        )
        return SubscriptionCounts.from_groups(rows)
