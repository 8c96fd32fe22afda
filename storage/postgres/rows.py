"""Row conversions shared by the PostgreSQL repositories."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from storage.models import Document

COLUMNS = (
    "id, title, text, url, source_name, published, lang, content_hash, duplicate_of, story_id, hidden, "
    "created_at, updated_at, author"
)


def now() -> datetime:
    # To the second, as SQLite stores it: the same values read back from either backend.
    return datetime.now(UTC).replace(microsecond=0)


def to_document(row: asyncpg.Record) -> Document:
    return Document(
        id=row["id"],
        title=row["title"],
        text=row["text"],
        url=row["url"],
        source_name=row["source_name"],
        published=row["published"],
        lang=row["lang"],
        content_hash=row["content_hash"],
        duplicate_of=row["duplicate_of"],
        story_id=row["story_id"],
        hidden=row["hidden"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        author=row.get("author"),  # a search's own column list may leave it out
    )


def to_db_time(value: datetime | None) -> datetime | None:
    """UTC, to the second, as SQLite stores times."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("times are stored timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)
