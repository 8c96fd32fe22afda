"""The PostgreSQL database: an asyncpg pool, transactions carried by a ContextVar, migrations under a lock."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage.db import DatabaseUnusable, Unusable
from storage.postgres.migrations import MIGRATIONS

log = logging.getLogger(__name__)

# Every connection is one of the pool's (generic in the stubs only).
Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"

# pg_advisory_lock key of the migrations: every process starting on one database waits for the first.
MIGRATION_LOCK = 0x616C6174  # "alat"


# Writes a transaction's tallies of one kind (what `tally` summed up), on its connection, before COMMIT.
Flusher = Callable[[Counter[str]], Awaitable[None]]


@dataclass(eq=False)
class _Transaction:
    owner: asyncio.Task[Any] | None
    conn: Connection
    open: bool = True
    # One layer per open savepoint: name -> key -> delta; a savepoint undone drops its layer.
    tallies: list[dict[str, Counter[str]]] = field(default_factory=lambda: [{}])


def redact(dsn: str) -> str:
    """The location without its password, for messages and logs."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def _rowcount(status: str) -> int:
    """The row count of a command tag: 'UPDATE 3', 'INSERT 0 1', 'DELETE 0'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresDatabase:
    """The same guarantees as `storage.db.Database` (read its docstring), on a pool of connections:

    - `async with db.transaction():` is one unit of work on one connection of the pool, carried by a
      ContextVar for the task that opened it; a nested one is a SAVEPOINT.
    - Writes of this process are serialised by one lock, as on SQLite, so that a write of another task
      waits for an open transaction instead of interleaving with it. Other processes are kept apart by
      PostgreSQL itself (row locks, constraints), not by this lock.
    - Reads outside a transaction take any connection of the pool and see what is committed. Inside a
      transaction the task reads on its own connection, so it sees its own writes.
    - Unlike SQLite, a statement refused inside a transaction aborts the whole transaction; the
      repositories therefore run a write that can be refused (a document's insert) in a savepoint of its
      own when it is inside a transaction, so that the caller can catch the error and go on.
    """

    def __init__(self, dsn: str, migrations: Sequence[str] = MIGRATIONS, max_size: int = 10) -> None:
        self.dsn = dsn
        self.path = redact(dsn)  # what messages name (DatabaseUnusable.path), never with the password
        self._migrations = migrations
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._write_lock = asyncio.Lock()
        self._flushers: dict[str, Flusher] = {}
        self._context: ContextVar[_Transaction | None] = ContextVar(
            f"transaction of {self.path}", default=None
        )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not connected")
        return self._pool

    async def connect(self) -> None:
        """Open the pool and migrate; a database that cannot be used raises DatabaseUnusable."""
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self._max_size,
                command_timeout=60,
                # Statements are prepared and reused; a generic plan does not know the query's words, and
                # would scan every document for a rare one. Planning each time costs far less.
                # JIT compiles a plan priced high (`fetch_indexed` prices any sequential scan at 1e10) in
                # ~60 ms, more than any of our statements takes to run.
                server_settings={"plan_cache_mode": "force_custom_plan", "jit": "off"},
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnusable(Unusable.CANNOT_OPEN, self.path, str(exc) or type(exc).__name__) from exc
        try:
            await self.migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        exists = await self.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
        if not exists:
            return 0
        return int(await self.fetchval("SELECT coalesce(max(version), 0) FROM schema_version") or 0)

    async def migrate(self) -> None:
        """Apply the missing steps, each in its own transaction, while holding an advisory lock: several
        processes starting together on a new database migrate it once."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await self._migrate(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def _migrate(self, conn: Connection) -> None:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
        current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version") or 0)
        if current > len(self._migrations):
            raise DatabaseUnusable(
                Unusable.TOO_NEW,
                self.path,
                f"schema version {current}, newer than this program ({len(self._migrations)})",
            )
        if current == 0:
            others = await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_name != 'schema_version'"
            )
            if others:
                raise DatabaseUnusable(Unusable.NOT_OURS, self.path, "tables of another program")
        for version, script in enumerate(self._migrations[current:], start=current + 1):
            log.info("applying migration %d to %s", version, self.path)
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)

    # -- transactions ---------------------------------------------------------------------------------

    def _current(self) -> _Transaction | None:
        tx = self._context.get()
        if tx is not None and tx.open and tx.owner is asyncio.current_task():
            return tx
        return None

    @property
    def in_transaction(self) -> bool:
        return self._current() is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One unit of work (see the class); nested, a SAVEPOINT undone alone by an exception."""
        outer = self._current()
        if outer is not None:
            outer.tallies.append({})
            try:
                async with outer.conn.transaction():
                    yield
            except BaseException:
                outer.tallies.pop()
                raise
            for name, counts in outer.tallies.pop().items():
                outer.tallies[-1].setdefault(name, Counter()).update(counts)
            return
        # The connection goes back to the pool even when cancelled half-way; the pool rolls back what is
        # left open on it.
        async with self._write_lock, self.pool.acquire() as conn:
            begun = conn.transaction()
            await begun.start()
            tx = _Transaction(asyncio.current_task(), conn)
            token = self._context.set(tx)
            try:
                yield
                await self._flush(tx)
            except BaseException:
                tx.open = False
                await begun.rollback()
                raise
            else:
                tx.open = False
                await begun.commit()
            finally:
                tx.open = False
                self._context.reset(token)

    def on_commit(self, name: str, flush: Flusher) -> None:
        """Have `flush` write what transactions tallied under `name`, before they commit (in the order
        the names were first registered: the order in which their rows get locked)."""
        self._flushers[name] = flush

    def tally(self, name: str, counts: Mapping[str, int]) -> None:
        """Add to counters that the transaction writes once, at its end, before COMMIT.

        A counter row updated once per document of a batch would gather a version per update within the
        transaction (each one slower to find) and hold its lock from the first document on; summed up and
        written at the end it costs one statement per kind, and every transaction locks those rows in one
        order, last. Reads inside the transaction do not see the sums yet."""
        tx = self._current()
        if tx is None:
            raise RuntimeError("tally() is for use inside a transaction")
        tx.tallies[-1].setdefault(name, Counter()).update(counts)

    async def _flush(self, tx: _Transaction) -> None:
        layer = tx.tallies[0]
        for name, flush in self._flushers.items():
            counts = layer.get(name)
            if counts:
                await flush(counts)
        layer.clear()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A block whose failure leaves the current transaction usable; outside one, a transaction."""
        async with self.transaction():
            yield

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[Connection]:
        tx = self._current()
        if tx is not None:
            yield tx.conn
            return
        async with self._write_lock, self.pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[Connection]:
        tx = self._current()
        if tx is not None:
            yield tx.conn
            return
        async with self.pool.acquire() as conn:
            yield conn

    # -- statements -------------------------------------------------------------------------------------

    async def execute(self, sql: str, *args: object) -> int:
        """One writing statement; how many rows it changed."""
        async with self._writer() as conn:
            return _rowcount(await conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """One statement for many parameter rows, atomically (asyncpg runs them in one transaction)."""
        batch = list(rows)
        if not batch:
            return
        async with self._writer() as conn:
            await conn.executemany(sql, batch)

    async def write(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """One writing statement, returning its rows (`RETURNING`)."""
        async with self._writer() as conn:
            return list(await conn.fetch(sql, *args))

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async with self._reader() as conn:
            return list(await conn.fetch(sql, *args))

    async def fetch_indexed(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """A read of the full-text index that must go through its GIN index. PostgreSQL prices testing a
        tsvector in a sequential scan like any comparison, not as the unpacking of a document's terms it
        is, and so scans the whole table for a common word or a phrase: several times slower than the
        index, at every size. Outside a transaction the read runs in a short one that forbids that plan."""
        tx = self._current()
        if tx is not None:
            return list(await tx.conn.fetch(sql, *args))
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            # No parallel workers either: a search's plan is priced high (a phrase's bigrams are costly to
            # compute row by row, which the plan never does), and workers only add their start to it.
            await conn.execute(
                "SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0"
            )
            return list(await conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        async with self._reader() as conn:
            row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
            return row

    async def fetchval(self, sql: str, *args: object) -> Any:
        async with self._reader() as conn:
            return await conn.fetchval(sql, *args)

    async def int_scalar(self, sql: str, *args: object) -> int:
        value = await self.fetchval(sql, *args)
        return int(value) if value is not None else 0
