"""Texts an admin uploaded that wait in a preview for Save (or Cancel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.db import Database

_COLUMNS = "id, admin_id, created_at, text, source, title, url, published, lang, source_name"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PendingUpload:
    """The upload as it came, with the admin's edits; `published` is the date as the admin typed it."""

    id: int
    admin_id: int
    created_at: datetime
    text: str
    source: str
    title: str | None
    url: str | None
    published: str | None
    lang: str | None
    source_name: str | None


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
        async with self.db.transaction() as tx:
            cur = await tx.execute(
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
            pending_id = cur.lastrowid
            await cur.close()
        assert pending_id is not None
        return pending_id

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
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                f"UPDATE pending_uploads SET {', '.join(sets)} WHERE id = ?", (*params, pending_id)
            )
            return cur.rowcount > 0

    async def delete(self, pending_id: int) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM pending_uploads WHERE id = ?", (pending_id,))
            return cur.rowcount > 0

    async def purge(self, older_than: timedelta) -> int:
        cutoff = (_now() - older_than).isoformat(timespec="seconds")
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM pending_uploads WHERE created_at < ?", (cutoff,))
            return cur.rowcount
