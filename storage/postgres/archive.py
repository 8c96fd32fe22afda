"""Whole-corpus copies on PostgreSQL (see storage/archive.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.interfaces import DocumentStore
from storage.models import Document, NewDocument
from storage.postgres.db import PostgresDatabase
from storage.postgres.rows import COLUMNS, to_document


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times are stored timezone-aware")
    return value.astimezone(UTC)


class ArchiveRepository:
    def __init__(self, db: PostgresDatabase, documents: DocumentStore) -> None:
        self.db = db
        self.documents = documents

    async def documents_after(self, after_id: int, limit: int) -> list[Document]:
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM documents WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [to_document(r) for r in rows]

    async def restore(
        self,
        doc: NewDocument,
        *,
        hidden: bool,
        created_at: datetime,
        updated_at: datetime,
        author: str | None = None,
    ) -> int:
        async with self.db.transaction():
            doc_id = await self.documents.add(doc)
            if hidden:
                await self.documents.set_hidden(doc_id, True, "", "")
            await self.db.execute(
                "UPDATE documents SET created_at = $1, updated_at = $2, author = $3 WHERE id = $4",
                _aware(created_at),
                _aware(updated_at),
                author,
                doc_id,
            )
        return doc_id
