"""The SQLite database: one aiosqlite connection, WAL, foreign keys, migrations at start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)


class Database:
    """Owns the connection. Writes go through `transaction()`, which serialises them."""

    def __init__(self, path: Path | str, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._migrations = migrations
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn

    async def connect(self) -> None:
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA busy_timeout = 5000")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        try:
            await self.migrate()
        except BaseException:
            # Do not leave the connection's thread running behind a failed start.
            await self.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        current = await self.schema_version()
        if current > len(self._migrations):
            raise RuntimeError(
                f"database {self.path} has schema version {current}, newer than this program "
                f"({len(self._migrations)}); upgrade the program"
            )
        for version, script in enumerate(self._migrations[current:], start=current + 1):
            log.info("applying migration %d to %s", version, self.path)
            # executescript commits on its own, so the version bump is inside the same script.
            try:
                await self.conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                )
            except BaseException:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception: a failed write leaves nothing behind."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        """One statement in autocommit mode (atomic by itself): one hop instead of BEGIN/…/COMMIT."""
        async with self._write_lock:
            return list(await self.conn.execute_fetchall(sql, params))

    # execute_fetchall is one hop to the database thread; execute + fetch + close would be three.
    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> aiosqlite.Row | None:
        rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def scalar(self, sql: str, params: Sequence[object] = ()) -> object:
        row = await self.fetchone(sql, params)
        return row[0] if row is not None else None

    async def int_scalar(self, sql: str, params: Sequence[object] = ()) -> int:
        value = await self.scalar(sql, params)
        return int(value) if isinstance(value, int | float | str) else 0
