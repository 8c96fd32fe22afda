"""Texts an admin uploaded that wait in a preview for Save (or Cancel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.models import PendingUpload

__all__ = ["PendingRepository", "PendingUpload"]

_COLUMNS = "id, admin_id, created_at, text, source, title, url, published, lang, source_name"


def _now() -> datetime:
    return datetime.now(UTC)


class PendingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        admin_id: int,
        *,
        text: str,
        source: str,
        title: str | None = None,
        url: str | None = None,
        published: str | None = None,
        lang: str | None = None,
        source_name: str | None = None,
    ) -> int:
        changes = await self.db.execute(
            "INSERT INTO pending_uploads (admin_id, created_at, text, source, title, url, published, "
            "lang, source_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                admin_id,
                _now().isoformat(timespec="seconds"),
                text,
                source,
                title,
                url,
                published,
                lang,
                source_name,
            ),
        )
        assert changes.lastrowid is not None
        return changes.lastrowid

    async def get(self, pending_id: int) -> PendingUpload | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM pending_uploads WHERE id = ?", (pending_id,))
        if row is None:
            return None
        return PendingUpload(
            id=row["id"],
            admin_id=row["admin_id"],
            created_at=datetime.fromisoformat(row["created_at"]),
            text=row["text"],
            source=row["source"],
            title=row["title"],
            url=row["url"],
            published=row["published"],
            lang=row["lang"],
            source_name=row["source_name"],
        )

    async def update(
        self, pending_id: int, *, title: str | None = None, published: str | None = None
    ) -> bool:
        sets: list[str] = []
        params: list[object] = []
        for column, value in (("title", title), ("published", published)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if not sets:
            return False
        changes = await self.db.execute(
            f"UPDATE pending_uploads SET {', '.join(sets)} WHERE id = ?", (*params, pending_id)
        )
        return changes.rowcount > 0

    async def delete(self, pending_id: int) -> bool:
        changes = await self.db.execute("DELETE FROM pending_uploads WHERE id = ?", (pending_id,))
        return changes.rowcount > 0

    async def purge(self, older_than: timedelta) -> int:
        cutoff = (_now() - older_than).isoformat(timespec="seconds")
        changes = await self.db.execute("DELETE FROM pending_uploads WHERE created_at < ?", (cutoff,))
        return changes.rowcount
