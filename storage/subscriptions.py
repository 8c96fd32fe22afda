"""Subscriptions to digests: one per chat (a person's private chat or a channel) and forum topic (a group
has one per topic), with schedule and cursor."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from storage.db import Database
from storage.models import Frequency, Kind, NewSubscription, Subscription, SubscriptionCounts

__all__ = [
    "Frequency",
    "Kind",
    "NewSubscription",
    "Subscription",
    "SubscriptionCounts",
    "SubscriptionRepository",
    "to_db_time",
]


def to_db_time(value: datetime | None) -> str | None:
    """UTC, to the second, one fixed format: stored times then compare correctly as strings."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("times are stored timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_SELECT = (
    "SELECT s.id, s.chat_id, s.kind, s.title, s.added_by, "
    "coalesce(CASE WHEN s.kind = 'person' THEN u.language END, s.language) AS language, "
    "s.frequency, s.weekday, s.local_time, s.timezone, s.filter_query, s.paused, s.active, "
    "s.inactive_reason, s.cursor, s.next_due_utc, s.last_digest_at, s.created_at, s.updated_at, "
    "s.thread_id, s.headlines_only, s.link_previews, s.silent, s.quiet_from, s.quiet_to "
    "FROM subscriptions s LEFT JOIN users u ON u.user_id = s.chat_id"
)


def _row(r: sqlite3.Row) -> Subscription:
    next_due = _from_db_time(r[15])
    created = _from_db_time(r[17])
    updated = _from_db_time(r[18])
    assert created is not None and updated is not None
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
        paused=bool(r[11]),
        active=bool(r[12]),
        inactive_reason=r[13],
        cursor=r[14],
        next_due=next_due,
        last_digest_at=_from_db_time(r[16]),
        created_at=created,
        updated_at=updated,
        thread_id=r[19],
        headlines_only=bool(r[20]),
        link_previews=bool(r[21]),
        silent=bool(r[22]),
        quiet_from=r[23],
        quiet_to=r[24],
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SubscriptionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int, thread_id: int | None = None) -> Subscription | None:
        row = await self.db.fetchone(
            f"{_SELECT} WHERE s.chat_id = ? AND coalesce(s.thread_id, 0) = ?", (chat_id, thread_id or 0)
        )
        return _row(row) if row is not None else None

    async def by_id(self, sub_id: int) -> Subscription | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE s.id = ?", (sub_id,))
        return _row(row) if row is not None else None

    async def get_many(self, chat_ids: Sequence[int]) -> list[Subscription]:
        """Every subscription of these chats (a group's topics each have one)."""
        if not chat_ids:
            return []
        marks = ",".join("?" * len(chat_ids))
        rows = await self.db.fetchall(f"{_SELECT} WHERE s.chat_id IN ({marks}) ORDER BY s.id", list(chat_ids))
        return [_row(r) for r in rows]

    async def upsert(self, new: NewSubscription) -> Subscription:
        """Create the subscription of the chat (and topic), or start over an existing one (active, unpaused,
        these settings)."""
        now = _now()
        await self.db.write(
            "INSERT INTO subscriptions (chat_id, kind, title, added_by, language, frequency, weekday, "
            "local_time, timezone, filter_query, cursor, next_due_utc, created_at, updated_at, thread_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(chat_id, coalesce(thread_id, 0)) DO UPDATE SET "
            "kind = excluded.kind, title = excluded.title, added_by = excluded.added_by, "
            "language = excluded.language, frequency = excluded.frequency, weekday = excluded.weekday, "
            "local_time = excluded.local_time, timezone = excluded.timezone, "
            "filter_query = excluded.filter_query, cursor = excluded.cursor, "
            "next_due_utc = excluded.next_due_utc, paused = 0, active = 1, inactive_reason = NULL, "
            "updated_at = excluded.updated_at",
            self._params(new, now),
        )
        found = await self.get(new.chat_id, new.thread_id)
        assert found is not None
        return found

    async def add_many(self, items: Sequence[NewSubscription]) -> None:
        """Many new subscriptions in one transaction (imports, benchmarks); existing chats are left alone."""
        now = _now()
        await self.db.executemany(
            "INSERT OR IGNORE INTO subscriptions (chat_id, kind, title, added_by, language, frequency, "
            "weekday, local_time, timezone, filter_query, cursor, next_due_utc, created_at, updated_at, "
            "thread_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [self._params(item, now) for item in items],
        )

    @staticmethod
    def _params(new: NewSubscription, now: str) -> tuple[object, ...]:
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
            now,
            now,
            new.thread_id,
        )

    async def save_settings(self, sub: Subscription) -> Subscription | None:
        """Store what a person may change (schedule, filter, pause, language, title, delivery options) of an
        existing row (its chat and topic are what it is)."""
        await self.db.write(
            "UPDATE subscriptions SET frequency = ?, weekday = ?, local_time = ?, timezone = ?, "
            "filter_query = ?, paused = ?, next_due_utc = ?, language = ?, title = ?, updated_at = ?, "
            "headlines_only = ?, link_previews = ?, silent = ?, quiet_from = ?, quiet_to = ? "
            "WHERE id = ?",
            (
                sub.frequency.value,
                sub.weekday,
                sub.local_time,
                sub.timezone,
                sub.filter_query,
                int(sub.paused),
                to_db_time(sub.next_due),
                sub.language,
                sub.title,
                _now(),
                int(sub.headlines_only),
                int(sub.link_previews),
                int(sub.silent),
                sub.quiet_from,
                sub.quiet_to,
                sub.id,
            ),
        )
        return await self.by_id(sub.id)

    async def deactivate(self, chat_id: int, reason: str, thread_id: int | None = None) -> bool:
        """Kept, with the reason (unsubscribed, blocked, kicked, …): for /stats, and for a return later."""
        rows = await self.db.write(
            "UPDATE subscriptions SET active = 0, inactive_reason = ?, updated_at = ? "
            "WHERE chat_id = ? AND coalesce(thread_id, 0) = ? AND active = 1 RETURNING id",
            (reason, _now(), chat_id, thread_id or 0),
        )
        return bool(rows)

    async def deactivate_chat(self, chat_id: int, reason: str) -> int:
        """Every subscription of the chat (each topic of a group): the bot was blocked, removed, …"""
        rows = await self.db.write(
            "UPDATE subscriptions SET active = 0, inactive_reason = ?, updated_at = ? "
            "WHERE chat_id = ? AND active = 1 RETURNING id",
            (reason, _now(), chat_id),
        )
        return len(rows)

    async def due(self, now: datetime, latest_doc_id: int, limit: int = 100_000) -> list[Subscription]:
        """Active, unpaused subscriptions whose time has come; instant ones are due whenever a document newer
        than their cursor exists."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE s.active = 1 AND s.paused = 0 AND ("
            "(s.frequency != 'instant' AND s.next_due_utc <= ?) "
            "OR (s.frequency = 'instant' AND s.cursor < ?)) ORDER BY s.id LIMIT ?",
            (to_db_time(now), latest_doc_id, limit),
        )
        return [_row(r) for r in rows]

    async def advance(self, items: Sequence[tuple[int, int, datetime | None]]) -> None:
        """(subscription id, new cursor, next due) for digests that turned out empty: nothing was sent, but
        those documents have been looked at and the next slot is the next one."""
        if not items:
            return
        now = _now()
        await self.db.executemany(
            "UPDATE subscriptions SET cursor = max(cursor, ?), next_due_utc = ?, updated_at = ? WHERE id = ?",
            [(cursor, to_db_time(due), now, sub_id) for sub_id, cursor, due in items],
        )

    async def channels(self) -> list[Subscription]:
        # Channels, and forum topics of groups (each its own row).
        rows = await self.db.fetchall(f"{_SELECT} WHERE s.kind = 'channel' ORDER BY s.active DESC, s.id")
        return [_row(r) for r in rows]

    async def counts(self) -> SubscriptionCounts:
        rows = await self.db.fetchall(
            "SELECT kind, active, paused, coalesce(inactive_reason, ''), count(*) FROM subscriptions "
            "GROUP BY 1, 2, 3, 4"
        )
        return SubscriptionCounts.from_groups(rows)
