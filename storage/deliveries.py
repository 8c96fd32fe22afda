"""Digests as sent, and the delivery ledger: one row per (digest, chat) and its state.

    pending ──► sending ──► sent        (only with Telegram's answer: the message id)
       ▲           │──────► failed      (gave up after retries, or a permanent error)
       ├─ retry ◄──┤──────► blocked     (the chat is gone for us: blocked, kicked, deactivated, not found)
       │           │──────► cancelled   (the subscription stopped or paused before its turn came)
       │           └──────► unknown     (the process stopped before Telegram answered: arrived or not)
       └── an admin's resend ◄─┘

A row is `sending` only while its request is in flight, so after a crash `sending` means "in doubt": once
the engine that claimed it (`claimed_by`) is gone — its heartbeat in `engines` stale — it becomes
`unknown`, which is never sent again on its own (that could be a duplicate) and is reported to the admins,
who may resend to exactly those chats.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from storage.db import Database
from storage.models import Delivery, NewDigest, Queued, Rendered, State, StoredDigest, Target
from storage.subscriptions import to_db_time

__all__ = [
    "IN_DOUBT",
    "RESENT",
    "Delivery",
    "DeliveryRepository",
    "NewDigest",
    "Queued",
    "Rendered",
    "State",
    "StoredDigest",
    "Target",
]


IN_DOUBT = "in doubt: the process stopped while the request was in flight"
RESENT = "resent by an admin after an unknown outcome"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_DELIVERY = (
    "id, digest_id, chat_id, subscription_id, state, attempts, message_id, last_error, thread_id, silent, "
    "link_previews"
)


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- enqueueing ---------------------------------------------------------------------------------------

    async def enqueue(
        self,
        digest: NewDigest,
        render: Callable[[int], Rendered],
        targets: Sequence[Target],
        now: datetime,
    ) -> Queued:
        """Store a digest, its ledger rows and each subscription's new cursor and due time in one
        transaction: either all of them are queued and moved on, or nothing happened.

        A target with `seen` moves only if its subscription still has that cursor and due time (another
        process may have queued it meanwhile): the losers get no row, and when no target is left nothing
        is stored at all. `render` gets the new digest's id (its buttons refer to it) and must not block.
        """
        stamp = to_db_time(now)
        async with self.db.transaction():
            moved = await self.db.atomic(lambda conn: _move_subscriptions(conn, targets, stamp))
            if not moved:
                return Queued(0, 0)
            inserted = await self.db.execute(
                "INSERT INTO digests (created_at, language, filter_query, cursor_from, cursor_to, stories, "
                "text) VALUES (?, ?, ?, ?, ?, ?, '')",
                (
                    stamp,
                    digest.language,
                    digest.filter_query,
                    digest.cursor_from,
                    digest.cursor_to,
                    digest.stories,
                ),
            )
            digest_id = inserted.lastrowid
            assert digest_id is not None
            rendered = render(digest_id)
            await self.db.execute(
                "UPDATE digests SET text = ?, reply_markup = ? WHERE id = ?",
                (rendered.text, rendered.reply_markup, digest_id),
            )
            added = await self.db.executemany(
                "INSERT OR IGNORE INTO deliveries (digest_id, chat_id, subscription_id, state, created_at, "
                "updated_at, thread_id, silent, link_previews) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                [
                    (
                        digest_id,
                        t.chat_id,
                        t.subscription_id,
                        stamp,
                        stamp,
                        t.thread_id,
                        int(t.silent),
                        int(t.link_previews),
                    )
                    for t in moved
                ],
            )
        return Queued(digest_id, added)

    # -- the engine's side ----------------------------------------------------------------------------------

    async def recover_in_doubt(self, stale_before: datetime | None = None) -> int:
        """Rows left `sending` by an engine that is gone become `unknown`: their request may or may not have
        reached Telegram, which has no way to ask. Never counted as sent (Telegram did not answer), never
        sent again on their own (that could be a duplicate); `resend_unknown` is the admins' choice.

        Gone: its last heartbeat is older than `stale_before` (or it never beat one); the claims of an
        engine that still beats are its own business. None: every `sending` row (one process alone)."""
        live = (
            ""
            if stale_before is None
            else " AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM engines WHERE heartbeat_at >= ?))"
        )
        params: tuple[object, ...] = (IN_DOUBT, _now())
        if stale_before is not None:
            params += (to_db_time(stale_before),)
        rows = await self.db.write(
            f"UPDATE deliveries SET state = 'unknown', last_error = ?, updated_at = ? WHERE state = 'sending'{live} "
            "RETURNING id",
            params,
        )
        if stale_before is not None:
            await self.db.execute("DELETE FROM engines WHERE heartbeat_at < ?", (to_db_time(stale_before),))
        return len(rows)

    async def beat(self, engine_id: str, at: datetime, host: str = "", pid: int = 0) -> None:
        """An engine is alive (its claims are not in doubt while it beats), in process `pid` on `host`."""
        stamp = to_db_time(at)
        await self.db.execute(
            "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            (engine_id, host, pid, stamp, stamp),
        )

    async def engines_on(self, host: str) -> dict[str, int]:
        """The engines that beat on `host`: id -> process id."""
        rows = await self.db.fetchall("SELECT id, pid FROM engines WHERE host = ?", (host,))
        return {str(r[0]): int(r[1]) for r in rows}

    async def watch(self, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """SQLite cannot notify another process: the engine polls instead."""

        async def unwatch() -> None:
            return None

        return unwatch

    async def forget_engine(self, engine_id: str) -> None:
        """The engine stopped: whatever it left `sending` is in doubt from now on."""
        await self.db.execute("DELETE FROM engines WHERE id = ?", (engine_id,))

    async def unknown_count(self) -> tuple[int, int]:
        """(chats, digests) with a delivery whose outcome is unknown."""
        row = await self.db.fetchone(
            "SELECT count(DISTINCT chat_id), count(DISTINCT digest_id) FROM deliveries WHERE state = 'unknown'"
        )
        return (int(row[0]), int(row[1])) if row is not None else (0, 0)

    async def resend_unknown(self) -> list[Delivery]:
        """Every `unknown` row back to `pending`, so that the engine sends it again: an admin's decision,
        since some of those chats did get the digest and will get it twice."""
        rows = await self.db.write(
            "UPDATE deliveries SET state = 'pending', last_error = ?, updated_at = ? WHERE state = 'unknown' "
            f"RETURNING {_DELIVERY}",
            (RESENT, _now()),
        )
        return [_delivery(r) for r in rows]

    async def pending(self, after_id: int, limit: int) -> list[Delivery]:
        rows = await self.db.fetchall(
            f"SELECT {_DELIVERY} FROM deliveries WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [_delivery(r) for r in rows]

    async def payload(self, digest_id: int) -> Rendered | None:
        row = await self.db.fetchone("SELECT text, reply_markup FROM digests WHERE id = ?", (digest_id,))
        return Rendered(row[0], row[1]) if row is not None else None

    async def mark_sending(self, delivery_id: int, engine_id: str | None = None) -> bool:
        """Claim a pending row for `engine_id` right before its request; False when it is no longer pending
        (another engine claimed it) or its subscription has stopped or paused meanwhile (then the caller
        cancels it)."""
        rows = await self.db.write(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?, claimed_by = ? "
            "WHERE id = ? AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM subscriptions s "
            "WHERE s.id = deliveries.subscription_id AND (s.active = 0 OR s.paused = 1)) RETURNING id",
            (_now(), engine_id, delivery_id),
        )
        return bool(rows)

    async def mark_sent(self, delivery_id: int, message_id: int) -> None:
        await self.db.write(
            "UPDATE deliveries SET state = 'sent', message_id = ?, last_error = NULL, updated_at = ? "
            "WHERE id = ?",
            (message_id, _now(), delivery_id),
        )

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
        """(delivery id, message id) pairs, in one transaction."""
        now = _now()
        await self.db.executemany(
            "UPDATE deliveries SET state = 'sent', message_id = ?, last_error = NULL, updated_at = ? WHERE id = ?",
            [(message_id, now, delivery_id) for delivery_id, message_id in sent],
        )

    async def mark_retry(self, delivery_id: int, error: str) -> None:
        await self._set(delivery_id, State.PENDING, error)

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        await self._set(delivery_id, State.FAILED, error)

    async def mark_cancelled(self, delivery_id: int, reason: str) -> None:
        await self.db.write(
            "UPDATE deliveries SET state = 'cancelled', last_error = ?, updated_at = ? "
            "WHERE id = ? AND state = 'pending'",
            (reason[:500], _now(), delivery_id),
        )

    async def mark_blocked(self, delivery_id: int, subscription_id: int | None, reason: str) -> None:
        """The chat refuses us for good: the row is closed and the subscription kept, inactive, with why."""
        now = _now()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE deliveries SET state = 'blocked', last_error = ?, updated_at = ? WHERE id = ?",
                (reason[:500], now, delivery_id),
            )
            if subscription_id is not None:
                # The whole chat refuses (blocked, kicked, …): every subscription of it stops, each topic of
                # a group; a deleted topic stops only its own.
                conn.execute(
                    "UPDATE subscriptions SET active = 0, inactive_reason = ?, updated_at = ? "
                    "WHERE active = 1 AND (id = ? OR (? != 'topic_gone' AND "
                    "chat_id = (SELECT chat_id FROM subscriptions WHERE id = ?)))",
                    (reason[:100], now, subscription_id, reason, subscription_id),
                )

        await self.db.atomic(work)

    async def _set(self, delivery_id: int, state: State, error: str) -> None:
        await self.db.write(
            "UPDATE deliveries SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
            (state.value, error[:500], _now(), delivery_id),
        )

    # -- reading ----------------------------------------------------------------------------------------

    async def digest(self, digest_id: int) -> StoredDigest | None:
        row = await self.db.fetchone(
            "SELECT id, created_at, language, filter_query, cursor_from, cursor_to, stories, text, "
            "reply_markup FROM digests WHERE id = ?",
            (digest_id,),
        )
        if row is None:
            return None
        return StoredDigest(
            id=row[0],
            created_at=datetime.fromisoformat(row[1]),
            language=row[2],
            filter_query=row[3],
            cursor_from=row[4],
            cursor_to=row[5],
            stories=row[6],
            text=row[7],
            reply_markup=row[8],
        )

    async def for_digest(self, digest_id: int) -> list[Delivery]:
        rows = await self.db.fetchall(
            f"SELECT {_DELIVERY} FROM deliveries WHERE digest_id = ? ORDER BY id", (digest_id,)
        )
        return [_delivery(r) for r in rows]

    async def for_chat(self, chat_id: int) -> list[Delivery]:
        rows = await self.db.fetchall(
            f"SELECT {_DELIVERY} FROM deliveries WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [_delivery(r) for r in rows]

    async def counts(self) -> dict[State, int]:
        rows = await self.db.fetchall("SELECT state, count(*) FROM deliveries GROUP BY state")
        return {State(r[0]): int(r[1]) for r in rows}

    async def in_doubt_count(self) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM deliveries WHERE state = 'unknown'")

    async def has_open(self) -> bool:
        return bool(
            await self.db.scalar("SELECT 1 FROM deliveries WHERE state IN ('pending', 'sending') LIMIT 1")
        )

    async def purge(self, before: datetime) -> int:
        """Forget digests older than `before` once every delivery of theirs is settled (the ledger rows go
        with them); the ledger would otherwise grow by a row per subscriber per digest forever."""
        rows = await self.db.write(
            "DELETE FROM digests WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d "
            "WHERE d.digest_id = digests.id AND d.state IN ('pending', 'sending')) RETURNING id",
            (to_db_time(before),),
        )
        return len(rows)


def _move_subscriptions(
    conn: sqlite3.Connection, targets: Sequence[Target], stamp: str | None
) -> list[Target]:
    """Move each target's subscription on (compare-and-set where the target says what it saw); the targets
    still to be delivered to."""
    moved = []
    for t in targets:
        if t.subscription_id is None:
            moved.append(t)
            continue
        sql = (
            "UPDATE subscriptions SET cursor = max(cursor, ?), next_due_utc = ?, last_digest_at = ?, "
            "updated_at = ? WHERE id = ?"
        )
        params: tuple[object, ...] = (t.cursor, to_db_time(t.next_due), stamp, stamp, t.subscription_id)
        if t.seen is not None:
            sql += " AND cursor = ? AND next_due_utc IS ?"
            params += (t.seen[0], to_db_time(t.seen[1]))
        if conn.execute(sql, params).rowcount:
            moved.append(t)
    return moved


def _delivery(r: sqlite3.Row) -> Delivery:
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
        silent=bool(r[9]),
        link_previews=bool(r[10]),
    )
