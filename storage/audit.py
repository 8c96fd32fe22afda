"""The admins' audit log, and the bin that keeps deleted documents for a while (for undo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.models import AuditEntry

__all__ = ["AuditEntry", "AuditRepository"]


def _now() -> datetime:
    return datetime.now(UTC)


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, admin_id: int, action: str, doc_id: int | None = None, details: str = "") -> None:
        """One entry; inside a transaction it is part of it (written with the change it records)."""
        await self.db.execute(
            "INSERT INTO audit_log (at, admin_id, action, doc_id, details) VALUES (?, ?, ?, ?, ?)",
            (_now().isoformat(timespec="seconds"), admin_id, action, doc_id, details[:1000]),
        )

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
        changes = await self.db.execute("DELETE FROM deleted_documents WHERE deleted_at < ?", (cutoff,))
        return changes.rowcount
