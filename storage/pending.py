"""Texts an admin uploaded that wait in a preview for Save (or Cancel), and the bulk uploads in progress
(where their progress message is, and how many texts they saved so far)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.models import PendingUpload, UnfinishedUpload

__all__ = ["PendingRepository", "PendingUpload", "UnfinishedUpload"]


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

    # -- bulk uploads in progress ----------------------------------------------------------------------------

    async def start_upload(
        self, admin_id: int, *, chat_id: int, message_id: int, name: str, locale: str, total: int
    ) -> int:
        changes = await self.db.execute(
            "INSERT INTO bulk_uploads (admin_id, chat_id, message_id, name, locale, total, saved, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (admin_id, chat_id, message_id, name[:200], locale, total, _now().isoformat(timespec="seconds")),
        )
        assert changes.lastrowid is not None
        return changes.lastrowid

    async def count_saved(self, upload_id: int, n: int) -> None:
        """Inside the transaction that saves `n` texts of the upload: the count is true whatever happens."""
        await self.db.execute("UPDATE bulk_uploads SET saved = saved + ? WHERE id = ?", (n, upload_id))

    async def finish_upload(self, upload_id: int) -> bool:
        changes = await self.db.execute("DELETE FROM bulk_uploads WHERE id = ?", (upload_id,))
        return changes.rowcount > 0

    async def unfinished_uploads(self) -> list[UnfinishedUpload]:
        rows = await self.db.fetchall(
            "SELECT id, admin_id, chat_id, message_id, name, locale, total, saved, started_at "
            "FROM bulk_uploads ORDER BY id"
        )
        return [
            UnfinishedUpload(
                id=r[0],
                admin_id=r[1],
                chat_id=r[2],
                message_id=r[3],
                name=r[4],
                locale=r[5],
                total=r[6],
                saved=r[7],
                started_at=datetime.fromisoformat(r[8]),
            )
            for r in rows
        ]
