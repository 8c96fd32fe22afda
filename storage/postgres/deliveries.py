"""Digests as sent and the delivery ledger on PostgreSQL (the states: see storage.deliveries)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import asyncpg

from storage.deliveries import IN_DOUBT, RESENT
from storage.models import Delivery, NewDigest, Queued, Rendered, State, StoredDigest, Target
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import now, to_db_time

__all__ = ["DeliveryRepository"]

# The channel on which an enqueue tells every listening engine there is something new (sent at commit).
NEW_DELIVERIES = "alatau_deliveries"

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
    ) -> Queued:
        """The digest, its ledger rows and the subscriptions' new cursors in one transaction; a target with
        `seen` only if its subscription still has that cursor and due time (see storage.deliveries)."""
        stamp = to_db_time(now)
        async with self.db.transaction():
            moved = await self._move_subscriptions(targets, stamp)
            if not moved:
                return Queued(0, 0)
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
            added = await self.db.write(
                "INSERT INTO deliveries (digest_id, chat_id, subscription_id, state, created_at, updated_at, "
                "thread_id, silent, link_previews) SELECT $1, c, s, 'pending', $4, $4, th, si, lp "
                "FROM unnest($2::bigint[], $3::bigint[], $5::bigint[], $6::bool[], $7::bool[]) "
                "AS t(c, s, th, si, lp) ON CONFLICT DO NOTHING RETURNING id",
                digest_id,
                [t.chat_id for t in moved],
                [t.subscription_id for t in moved],
                stamp,
                [t.thread_id for t in moved],
                [t.silent for t in moved],
                [t.link_previews for t in moved],
            )
            if added:
                # Wakes an idle engine of any process at once (it polls as well, should this be missed).
                await self.db.execute("SELECT pg_notify($1, '')", NEW_DELIVERIES)
        return Queued(digest_id, len(added))

    async def _move_subscriptions(self, targets: Sequence[Target], stamp: datetime | None) -> list[Target]:
        subscribed = [t for t in targets if t.subscription_id is not None]
        won: set[int] = set()
        if subscribed:
            ids = [t.subscription_id for t in subscribed]
            # Locked in one order: two schedulers moving overlapping sets wait for each other, never deadlock.
            await self.db.fetch(
                "SELECT id FROM subscriptions WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", ids
            )
            rows = await self.db.write(
                "UPDATE subscriptions s SET cursor = greatest(s.cursor, t.cursor), next_due_utc = t.due, "
                "last_digest_at = $4, updated_at = $4 FROM unnest($1::bigint[], $2::bigint[], "
                "$3::timestamptz[], $5::bool[], $6::bigint[], $7::timestamptz[]) "
                "AS t(id, cursor, due, checked, seen_cursor, seen_due) WHERE s.id = t.id AND (NOT t.checked "
                "OR (s.cursor = t.seen_cursor AND s.next_due_utc IS NOT DISTINCT FROM t.seen_due)) "
                "RETURNING s.id",
                ids,
                [t.cursor for t in subscribed],
                [to_db_time(t.next_due) for t in subscribed],
                stamp,
                [t.seen is not None for t in subscribed],
                [t.seen[0] if t.seen else None for t in subscribed],
                [to_db_time(t.seen[1]) if t.seen else None for t in subscribed],
            )
            won = {int(r[0]) for r in rows}
        return [t for t in targets if t.subscription_id is None or t.subscription_id in won]

    async def recover_in_doubt(self, stale_before: datetime | None = None) -> int:
        if stale_before is None:
            return await self.db.execute(
                "UPDATE deliveries SET state = 'unknown', last_error = $1, updated_at = $2 "
                "WHERE state = 'sending'",
                IN_DOUBT,
                now(),
            )
        recovered = await self.db.execute(
            "UPDATE deliveries SET state = 'unknown', last_error = $1, updated_at = $2 WHERE state = 'sending' "
            "AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM engines WHERE heartbeat_at >= $3))",
            IN_DOUBT,
            now(),
            to_db_time(stale_before),
        )
        await self.db.execute("DELETE FROM engines WHERE heartbeat_at < $1", to_db_time(stale_before))
        return recovered

    async def beat(self, engine_id: str, at: datetime, host: str = "", pid: int = 0) -> None:
        await self.db.execute(
            "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES ($1, $3, $4, $2, $2) "
            "ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            engine_id,
            to_db_time(at),
            host,
            pid,
        )

    async def engines_on(self, host: str) -> dict[str, int]:
        rows = await self.db.fetch("SELECT id, pid FROM engines WHERE host = $1", host)
        return {str(r[0]): int(r[1]) for r in rows}

    async def watch(self, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        # A connection of its own: a LISTEN lasts as long as its session, and the pool's are shared.
        conn = await asyncpg.connect(self.db.dsn)
        await conn.add_listener(NEW_DELIVERIES, lambda *_: wake())

        async def unwatch() -> None:
            try:
                await asyncio.wait_for(conn.close(), timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

        return unwatch

    async def forget_engine(self, engine_id: str) -> None:
        await self.db.execute("DELETE FROM engines WHERE id = $1", engine_id)

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

    async def mark_sending(self, delivery_id: int, engine_id: str | None = None) -> bool:
        # SKIP LOCKED: a row another engine is claiming right now is theirs; no waiting for its commit.
        changed = await self.db.execute(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = $1, claimed_by = $3 "
            "WHERE id = (SELECT id FROM deliveries WHERE id = $2 AND state = 'pending' FOR UPDATE SKIP LOCKED) "
            "AND NOT EXISTS (SELECT 1 FROM subscriptions s "
            "WHERE s.id = deliveries.subscription_id AND (NOT s.active OR s.paused))",
            now(),
            delivery_id,
            engine_id,
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
                # The whole chat refuses: every subscription of it stops; a deleted topic stops only its own.
                await self.db.execute(
                    "UPDATE subscriptions SET active = false, inactive_reason = $1, updated_at = $2 "
                    "WHERE active AND (id = $3 OR ($4 != 'topic_gone' AND "
                    "chat_id = (SELECT chat_id FROM subscriptions WHERE id = $3)))",
                    reason[:100],
                    stamp,
                    subscription_id,
                    reason,
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
