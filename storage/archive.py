"""Whole-corpus copies on SQLite: the documents in id order, and a document put back as it was (the
`import` of an export). The index rows come from the domain, as for any new document."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.documents import _COLUMNS, _row_to_document
from storage.interfaces import DocumentStore
from storage.models import Document, NewDocument


def stamp(value: datetime) -> str:
    """A time as SQLite's rows hold it: UTC, ISO 8601 (to the second unless it has a fraction)."""
    if value.tzinfo is None:
        raise ValueError("times are stored timezone-aware")
    return value.astimezone(UTC).isoformat()


class ArchiveRepository:
    def __init__(self, db: Database, documents: DocumentStore) -> None:
        self.db = db
        self.documents = documents

    async def documents_after(self, after_id: int, limit: int) -> list[Document]:
        """Every document (hidden ones too) with an id above `after_id`, in id order, at most `limit`."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM documents WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [_row_to_document(r) for r in rows]

    async def restore(
        self,
        doc: NewDocument,
        *,
        hidden: bool,
        created_at: datetime,
        updated_at: datetime,
        author: str | None = None,
    ) -> int:
        """Store `doc` with its hidden flag and its times, atomically; its new id."""
        async with self.db.transaction():
            doc_id = await self.documents.add(doc)
            if hidden:
                await self.documents.set_hidden(doc_id, True, "", "")
            await self.db.execute(
                "UPDATE documents SET created_at = ?, updated_at = ?, author = ? WHERE id = ?",
                (stamp(created_at), stamp(updated_at), author, doc_id),
            )
        return doc_id
