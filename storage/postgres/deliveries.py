"""Digests as sent and the delivery ledger on PostgreSQL (the states: see storage.deliveries)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from storage.deliveries import IN_DOUBT, RESENT
from storage.models import Delivery, NewDigest, Rendered, State, StoredDigest, Target
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import now, to_db_time

__all__ = ["DeliveryRepository"]

_DELIVERY = (
    "id, digest_id, chat_id, subscription_id, state, attempts, message_id, last_error, thread_id, silent, "
    "link_previews"
)


def _delivery(r: asyncpg.Record) -> Delivery:
    return Delivery(
        id=r[0],
        digest_id=r[1],
        chat_id=r[2],
        subscription_id=r[3],
        state=State(r[4]),
        attempts=r[5],
        message_id=r[6],
        last_error=r[7],
        thread_id=r[8],
        silent=r[9],
        link_previews=r[10],
    )


class DeliveryRepository:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def enqueue(
        self, digest: NewDigest, render: Callable[[int], Rendered], targets: Sequence[Target], now: datetime
    ) -> int:
        """The digest, its ledger rows and the subscriptions' new cursors in one transaction."""
        stamp = to_db_time(now)
        async with self.db.transaction():
            digest_id = int(
                await self.db.fetchval(
                    "INSERT INTO digests (created_at, language, filter_query, cursor_from, cursor_to, stories, "
                    "text) VALUES ($1, $2, $3, $4, $5, $6, '') RETURNING id",
                    stamp,
                    digest.language,
                    digest.filter_query,
                    digest.cursor_from,
                    digest.cursor_to,
                    digest.stories,
                )
            )
            rendered = render(digest_id)
            await self.db.execute(
                "UPDATE digests SET text = $1, reply_markup = $2 WHERE id = $3",
                rendered.text,
                rendered.reply_markup,
                digest_id,
            )
            moved = [t for t in targets if t.subscription_id is not None]
            if moved:
                await self.db.execute(
                    "UPDATE subscriptions s SET cursor = greatest(s.cursor, t.cursor), next_due_utc = t.due, "
                    "last_digest_at = $4, updated_at = $4 "
                    "FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS t(id, cursor, due) "
                    "WHERE s.id = t.id",
                    [t.subscription_id for t in moved],
                    [t.cursor for t in moved],
                    [to_db_time(t.next_due) for t in moved],
                    stamp,
                )
            if targets:
                await self.db.execute(
                    "INSERT INTO deliveries (digest_id, chat_id, subscription_id, state, created_at, updated_at, "
                    "thread_id, silent, link_previews) SELECT $1, c, s, 'pending', $4, $4, th, si, lp "
                    "FROM unnest($2::bigint[], $3::bigint[], $5::bigint[], $6::bool[], $7::bool[]) "
                    "AS t(c, s, th, si, lp) ON CONFLICT DO NOTHING",
                    digest_id,
                    [t.chat_id for t in targets],
                    [t.subscription_id for t in targets],
                    stamp,
                    [t.thread_id for t in targets],
                    [t.silent for t in targets],
                    [t.link_previews for t in targets],
                )
        return digest_id

    async def recover_in_doubt(self) -> int:
        return await self.db.execute(
            "UPDATE deliveries SET state = 'unknown', last_error = $1, updated_at = $2 WHERE state = 'sending'",
            IN_DOUBT,
            now(),
        )

    async def unknown_count(self) -> tuple[int, int]:
        row = await self.db.fetchrow(
            "SELECT count(DISTINCT chat_id), count(DISTINCT digest_id) FROM deliveries WHERE state = 'unknown'"
        )
        return (int(row[0]), int(row[1])) if row is not None else (0, 0)

    async def resend_unknown(self) -> list[Delivery]:
        rows = await self.db.write(
            "UPDATE deliveries SET state = 'pending', last_error = $1, updated_at = $2 WHERE state = 'unknown' "
            f"RETURNING {_DELIVERY}",
            RESENT,
            now(),
        )
        return sorted((_delivery(r) for r in rows), key=lambda d: d.id)

    async def pending(self, after_id: int, limit: int) -> list[Delivery]:
        rows = await self.db.fetch(
            f"SELECT {_DELIVERY} FROM deliveries WHERE state = 'pending' AND id > $1 ORDER BY id LIMIT $2",
            after_id,
            limit,
        )
        return [_delivery(r) for r in rows]

    async def payload(self, digest_id: int) -> Rendered | None:
        row = await self.db.fetchrow("SELECT text, reply_markup FROM digests WHERE id = $1", digest_id)
        return Rendered(row[0], row[1]) if row is not None else None

    async def mark_sending(self, delivery_id: int) -> bool:
        changed = await self.db.execute(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = $1 "
            "WHERE id = $2 AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM subscriptions s "
            "WHERE s.id = deliveries.subscription_id AND (NOT s.active OR s.paused))",
            now(),
            delivery_id,
        )
        return changed > 0

    async def mark_sent(self, delivery_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE deliveries SET state = 'sent', message_id = $1, last_error = NULL, updated_at = $2 "
            "WHERE id = $3",
            message_id,
            now(),
            delivery_id,
        )

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
        if not sent:
            return
        await self.db.execute(
            "UPDATE deliveries d SET state = 'sent', message_id = t.m, last_error = NULL, updated_at = $3 "
            "FROM unnest($1::bigint[], $2::bigint[]) AS t(id, m) WHERE d.id = t.id",
            [d for d, _ in sent],
            [m for _, m in sent],
            now(),
        )

    async def mark_retry(self, delivery_id: int, error: str) -> None:
        await self._set(delivery_id, State.PENDING, error)

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        await self._set(delivery_id, State.FAILED, error)

    async def mark_cancelled(self, delivery_id: int, reason: str) -> None:
        await self.db.execute(
            "UPDATE deliveries SET state = 'cancelled', last_error = $1, updated_at = $2 "
            "WHERE id = $3 AND state = 'pending'",
            reason[:500],
            now(),
            delivery_id,
        )

    async def mark_blocked(self, delivery_id: int, subscription_id: int | None, reason: str) -> None:
        stamp = now()
        async with self.db.savepoint():
            await self.db.execute(
                "UPDATE deliveries SET state = 'blocked', last_error = $1, updated_at = $2 WHERE id = $3",
                reason[:500],
                stamp,
                delivery_id,
            )
            if subscription_id is not None:
                await self.db.execute(
                    "UPDATE subscriptions SET active = false, inactive_reason = $1, updated_at = $2 "
                    "WHERE id = $3 AND active",
                    reason[:100],
                    stamp,
                    subscription_id,
                )

    async def _set(self, delivery_id: int, state: State, error: str) -> None:
        await self.db.execute(
            "UPDATE deliveries SET state = $1, last_error = $2, updated_at = $3 WHERE id = $4",
            state.value,
            error[:500],
            now(),
            delivery_id,
        )

    async def digest(self, digest_id: int) -> StoredDigest | None:
        row = await self.db.fetchrow(
            "SELECT id, created_at, language, filter_query, cursor_from, cursor_to, stories, text, "
            "reply_markup FROM digests WHERE id = $1",
            digest_id,
        )
        return StoredDigest(**dict(row.items())) if row is not None else None

    async def for_digest(self, digest_id: int) -> list[Delivery]:
        rows = await self.db.fetch(
            f"SELECT {_DELIVERY} FROM deliveries WHERE digest_id = $1 ORDER BY id", digest_id
        )
        return [_delivery(r) for r in rows]

    async def for_chat(self, chat_id: int) -> list[Delivery]:
        rows = await self.db.fetch(
            f"SELECT {_DELIVERY} FROM deliveries WHERE chat_id = $1 ORDER BY id", chat_id
        )
        return [_delivery(r) for r in rows]

    async def counts(self) -> dict[State, int]:
        rows = await self.db.fetch("SELECT state, count(*) FROM deliveries GROUP BY state")
        return {State(r[0]): int(r[1]) for r in rows}

    async def in_doubt_count(self) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM deliveries WHERE state = 'unknown'")

    async def has_open(self) -> bool:
        return bool(
            await self.db.fetchval("SELECT 1 FROM deliveries WHERE state IN ('pending', 'sending') LIMIT 1")
        )

    async def purge(self, before: datetime) -> int:
        return await self.db.execute(
            "DELETE FROM digests WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d "
            "WHERE d.digest_id = digests.id AND d.state IN ('pending', 'sending'))",
            to_db_time(before),
        )
