"""The admins' audit log and the purge of the bin, on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage.models import AuditEntry
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import now

__all__ = ["AuditRepository"]


class AuditRepository:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def record(self, admin_id: int, action: str, doc_id: int | None = None, details: str = "") -> None:
        await self.db.execute(
            "INSERT INTO audit_log (at, admin_id, action, doc_id, details) VALUES ($1, $2, $3, $4, $5)",
            now(),
            admin_id,
            action,
            doc_id,
            details[:1000],
        )

    async def recent(self, limit: int = 20, offset: int = 0) -> list[AuditEntry]:
        rows = await self.db.fetch(
            "SELECT id, at, admin_id, action, doc_id, details FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    async def count(self) -> int:
        return await self.db.int_scalar("SELECT count(*) FROM audit_log")

    async def purge_bin(self, older_than: timedelta) -> int:
        return await self.db.execute(
            "DELETE FROM deleted_documents WHERE deleted_at < $1", now() - older_than
        )
