"""The admins' audit log, and the bin that keeps deleted documents for a while (for undo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite

from storage.db import Database


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    admin_id: int
    action: str
    doc_id: int | None
    details: str


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        admin_id: int,
        action: str,
        doc_id: int | None = None,
        details: str = "",
        conn: aiosqlite.Connection | None = None,
    ) -> None:
        sql = "INSERT INTO audit_log (at, admin_id, action, doc_id, details) VALUES (?, ?, ?, ?, ?)"
        params = (_now().isoformat(timespec="seconds"), admin_id, action, doc_id, details[:1000])
        if conn is not None:
            await conn.execute(sql, params)
            return
        async with self.db.transaction() as tx:
            await tx.execute(sql, params)

    async def recent(self, limit: int = 20, offset: int = 0) -> list[AuditEntry]:
        rows = await self.db.fetchall(
            "SELECT id, at, admin_id, action, doc_id, details FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [AuditEntry(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    async def count(self) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM audit_log")

    async def purge_bin(self, older_than: timedelta) -> int:
        cutoff = (_now() - older_than).isoformat(timespec="seconds")
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM deleted_documents WHERE deleted_at < ?", (cutoff,))
            return cur.rowcount
