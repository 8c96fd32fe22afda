"""Sources (feeds and channels the corpus follows) and the items each handed over, on SQLite."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from storage.db import Database
from storage.models import ItemOutcome, NewSource, PollOutcome, Source, SourceKind
from storage.subscriptions import to_db_time

__all__ = ["SourceRepository"]

_SELECT = (
    "SELECT id, kind, url, chat_id, title, filter_query, paused, poll_minutes, etag, last_modified, "
    "last_polled_at, next_poll_at, last_new_at, items_added, failures, error_reason, error_params, "
    "created_by, created_at FROM sources"
)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _row(r: sqlite3.Row) -> Source:
    created = _time(r[18])
    assert created is not None
    return Source(
        id=r[0],
        kind=SourceKind(r[1]),
        url=r[2],
        chat_id=r[3],
        title=r[4],
        filter_query=r[5],
        paused=bool(r[6]),
        poll_minutes=r[7],
        etag=r[8],
        last_modified=r[9],
        last_polled_at=_time(r[10]),
        next_poll_at=_time(r[11]),
        last_new_at=_time(r[12]),
        items_added=r[13],
        failures=r[14],
        error_reason=r[15],
        error_params=json.loads(r[16] or "{}"),
        created_by=r[17],
        created_at=created,
    )


class SourceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, new: NewSource) -> Source | None:
        rows = await self.db.write(
            "INSERT INTO sources (kind, url, chat_id, title, filter_query, poll_minutes, next_poll_at, "
            "created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
            (
                new.kind.value,
                new.url,
                new.chat_id,
                new.title,
                new.filter_query,
                new.poll_minutes,
                to_db_time(new.next_poll_at),
                new.created_by,
                to_db_time(new.created_at),
            ),
        )
        return await self.get(rows[0][0]) if rows else None

    async def get(self, source_id: int) -> Source | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE id = ?", (source_id,))
        return _row(row) if row is not None else None

    async def by_chat(self, chat_id: int) -> Source | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE chat_id = ?", (chat_id,))
        return _row(row) if row is not None else None

    async def all(self) -> list[Source]:
        return [_row(r) for r in await self.db.fetchall(f"{_SELECT} ORDER BY id")]

    async def due(self, now: datetime, limit: int = 1000) -> list[Source]:
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE paused = 0 AND kind = 'feed' AND (next_poll_at IS NULL OR next_poll_at <= ?) "
            "ORDER BY next_poll_at, id LIMIT ?",
            (to_db_time(now), limit),
        )
        return [_row(r) for r in rows]

    async def set_filter(self, source_id: int, filter_query: str) -> bool:
        changes = await self.db.execute(
            "UPDATE sources SET filter_query = ? WHERE id = ?", (filter_query, source_id)
        )
        return changes.rowcount > 0

    async def set_paused(self, source_id: int, paused: bool, next_poll_at: datetime | None = None) -> bool:
        changes = await self.db.execute(
            "UPDATE sources SET paused = ?, next_poll_at = coalesce(?, next_poll_at) WHERE id = ?",
            (int(paused), to_db_time(next_poll_at), source_id),
        )
        return changes.rowcount > 0

    async def remove(self, source_id: int) -> bool:
        changes = await self.db.execute("DELETE FROM sources WHERE id = ?", (source_id,))
        return changes.rowcount > 0

    async def record_poll(self, source_id: int, outcome: PollOutcome) -> None:
        polled, upcoming = to_db_time(outcome.polled_at), to_db_time(outcome.next_poll_at)
        if outcome.error_reason is None:
            await self.db.execute(
                "UPDATE sources SET last_polled_at = ?, next_poll_at = ?, etag = ?, last_modified = ?, "
                "items_added = items_added + ?, last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END, "
                "failures = 0, error_reason = NULL, error_params = '{}', "
                "title = CASE WHEN title = '' THEN coalesce(?, '') ELSE title END WHERE id = ?",
                (
                    polled,
                    upcoming,
                    outcome.etag,
                    outcome.last_modified,
                    outcome.added,
                    outcome.added,
                    polled,
                    outcome.title,
                    source_id,
                ),
            )
            return
        await self.db.execute(
            "UPDATE sources SET last_polled_at = ?, next_poll_at = ?, failures = failures + 1, "
            "error_reason = ?, error_params = ? WHERE id = ?",
            (
                polled,
                upcoming,
                outcome.error_reason,
                json.dumps(outcome.error_params, ensure_ascii=False, default=str),
                source_id,
            ),
        )

    async def seen(self, source_id: int, key: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM source_items WHERE key = ? AND (source_id = ? OR doc_id IS NOT NULL) LIMIT 1",
            (key, source_id),
        )
        return row is not None

    async def remember(
        self, source_id: int, key: str, outcome: ItemOutcome, doc_id: int | None, at: datetime
    ) -> bool:
        rows = await self.db.write(
            "INSERT INTO source_items (source_id, key, outcome, doc_id, seen_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (source_id, key, outcome.value, doc_id, to_db_time(at)),
        )
        return bool(rows)

    async def stored_as(self, source_id: int, key: str) -> int | None:
        row = await self.db.fetchone(
            "SELECT doc_id FROM source_items WHERE source_id = ? AND key = ?", (source_id, key)
        )
        return int(row[0]) if row is not None and row[0] is not None else None

    async def relink(self, source_id: int, key: str, doc_id: int) -> bool:
        changes = await self.db.execute(
            "UPDATE source_items SET doc_id = ?, outcome = ? WHERE source_id = ? AND key = ?",
            (doc_id, ItemOutcome.ADDED.value, source_id, key),
        )
        return changes.rowcount > 0

    async def set_author(self, doc_id: int, author: str | None) -> bool:
        changes = await self.db.execute("UPDATE documents SET author = ? WHERE id = ?", (author, doc_id))
        return changes.rowcount > 0

    async def item_count(self, source_id: int) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM source_items WHERE source_id = ?", (source_id,))
