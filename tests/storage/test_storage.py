from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database
from storage.documents import compile_match
from storage.migrations import MIGRATIONS
from storage.models import Alternatives, TermQuery


async def test_migrations_from_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.write_bytes(b"")
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        assert await db.scalar("PRAGMA foreign_keys") == 1
        assert await db.int_scalar("PRAGMA busy_timeout") >= 1000


@pytest.mark.parametrize("previous", range(1, len(MIGRATIONS) + 1))
async def test_migrations_from_each_previous_version_keep_data(tmp_path: Path, previous: int) -> None:
    path = tmp_path / "old.db"
    async with Database(path, migrations=MIGRATIONS[:previous]) as old:
        await old.conn.execute(
            "INSERT INTO documents (title, text, lang, content_hash, created_at, updated_at) "
            "VALUES ('t', 'body', 'ru', 'h1', '2025-01-01T00:00:00', '2025-01-01T00:00:00')"
        )
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.scalar("SELECT title FROM documents WHERE content_hash = 'h1'") == "t"


async def test_failed_migration_leaves_version_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    broken = [*MIGRATIONS, "CREATE TABLE half_done (x INTEGER); SELECT no_such_function();"]
    with pytest.raises(sqlite3.OperationalError):
        async with Database(path, migrations=broken):
            pass
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == 0


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with Database(path) as db:
        await db.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(RuntimeError, match="newer than this program"):
        async with Database(path):
            pass


async def test_transaction_rolls_back(tmp_path: Path) -> None:
    async with Database(tmp_path / "tx.db") as db:
        with pytest.raises(ZeroDivisionError):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO documents (title, text, lang, content_hash, created_at, updated_at) "
                    "VALUES ('t', 'b', 'ru', 'h', 'x', 'x')"
                )
                _ = 1 / 0
        assert await db.int_scalar("SELECT count(*) FROM documents") == 0


def test_match_expression_quotes_everything() -> None:
    query = TermQuery(
        required=(Alternatives(phrases=(('a"b',), ("near", "and"))),),
        excluded=(Alternatives(phrases=(("x",),), prefix=True),),
    )
    assert compile_match(query) == '(("a""b" OR "near and")) NOT (("x"*))'


async def test_document_ids_are_never_reused(tmp_path: Path) -> None:
    async with Database(tmp_path / "ids.db") as db:
        insert = (
            "INSERT INTO documents (title, text, lang, content_hash, created_at, updated_at) "
            "VALUES ('t', 'b', 'ru', ?, 'x', 'x') RETURNING id"
        )
        first = (await db.write(insert, ("h1",)))[0][0]
        await db.write("DELETE FROM documents WHERE id = ?", (first,))
        second = (await db.write(insert, ("h2",)))[0][0]
        assert second > first
