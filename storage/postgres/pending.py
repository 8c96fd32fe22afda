"""Uploads waiting in a preview for Save, on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage.models import PendingUpload
from storage.pending import UnfinishedUpload
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import now

__all__ = ["PendingRepository"]

_COLUMNS = "id, admin_id, created_at, text, source, title, url, published, lang, source_name"


class PendingRepository:
    def __init__(self, db: PostgresDatabase) -> None:
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
        rows = await self.db.write(
            "INSERT INTO pending_uploads (admin_id, created_at, text, source, title, url, published, lang, "
            "source_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            admin_id,
            now(),
            text,
            source,
            title,
            url,
            published,
            lang,
            source_name,
        )
        return int(rows[0][0])

    async def get(self, pending_id: int) -> PendingUpload | None:
        row = await self.db.fetchrow(f"SELECT {_COLUMNS} FROM pending_uploads WHERE id = $1", pending_id)
        return PendingUpload(**dict(row.items())) if row is not None else None

    async def update(
        self, pending_id: int, *, title: str | None = None, published: str | None = None
    ) -> bool:
        sets: list[str] = []
        params: list[object] = []
        for column, value in (("title", title), ("published", published)):
            if value is not None:
                params.append(value)
                sets.append(f"{column} = ${len(params)}")
        if not sets:
            return False
        changed = await self.db.execute(
            f"UPDATE pending_uploads SET {', '.join(sets)} WHERE id = ${len(params) + 1}", *params, pending_id
        )
        return changed > 0

    async def delete(self, pending_id: int) -> bool:
        return await self.db.execute("DELETE FROM pending_uploads WHERE id = $1", pending_id) > 0

    async def purge(self, older_than: timedelta) -> int:
        return await self.db.execute("DELETE FROM pending_uploads WHERE created_at < $1", now() - older_than)

    # -- bulk uploads in progress ----------------------------------------------------------------------------

    async def start_upload(
        self, admin_id: int, *, chat_id: int, message_id: int, name: str, locale: str, total: int
    ) -> int:
        rows = await self.db.write(
            "INSERT INTO bulk_uploads (admin_id, chat_id, message_id, name, locale, total, saved, started_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING id",
            admin_id,
            chat_id,
            message_id,
            name[:200],
            locale,
            total,
            now(),
        )
        return int(rows[0][0])

    async def count_saved(self, upload_id: int, n: int) -> None:
        await self.db.execute("UPDATE bulk_uploads SET saved = saved + $1 WHERE id = $2", n, upload_id)

    async def finish_upload(self, upload_id: int) -> bool:
        return await self.db.execute("DELETE FROM bulk_uploads WHERE id = $1", upload_id) > 0

    async def unfinished_uploads(self) -> list[UnfinishedUpload]:
        rows = await self.db.fetch(
            "SELECT id, admin_id, chat_id, message_id, name, locale, total, saved, started_at "
            "FROM bulk_uploads ORDER BY id"
        )
        return [UnfinishedUpload(**dict(r.items())) for r in rows]
