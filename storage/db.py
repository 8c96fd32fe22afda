"""The SQLite database: one aiosqlite connection, WAL, foreign keys, migrations at start-up."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")


class Unusable(StrEnum):
    CANNOT_OPEN = "cannot_open"  # a folder, a path that cannot be created, no permission
    DAMAGED = "damaged"  # not an SQLite file at all, or a truncated or corrupt one
    NOT_OURS = "not_ours"  # an SQLite database of another program
    READ_ONLY = "read_only"
    TOO_NEW = "too_new"  # made by a newer version of this program
    FAILED = "failed"  # anything else SQLite refused (disk full, I/O error, locked)


class DatabaseUnusable(RuntimeError):
    """The database cannot be used at start-up; `reason` says why (the application words the advice)."""

    def __init__(self, reason: Unusable, path: object, detail: str) -> None:
        super().__init__(f"database {path}: {detail}")
        self.reason = reason
        self.path = path
        self.detail = detail


def unusable(path: object, exc: BaseException) -> DatabaseUnusable:
    """What an OSError or SQLite error opening (or first reading) the database says about it."""
    text = str(exc)
    if isinstance(exc, OSError) or "unable to open" in text:
        reason = Unusable.CANNOT_OPEN
    elif "readonly" in text or "read-only" in text:
        reason = Unusable.READ_ONLY
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        reason = Unusable.DAMAGED
    else:
        reason = Unusable.FAILED
    return DatabaseUnusable(reason, path, text or type(exc).__name__)


class WriteFailure(StrEnum):
    DISK_FULL = "disk_full"  # no space left (or the database reached its size limit)
    READ_ONLY = "read_only"  # the file, its folder or the file system cannot be written


class StorageWriteError(sqlite3.OperationalError):
    """A write the storage refused for want of space or permission, typed (SQLite says only `database or
    disk is full` / `attempt to write a readonly database`). The failed statement — or, inside a
    transaction, the whole transaction — left nothing behind; reading still works."""

    def __init__(self, reason: WriteFailure, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_READONLY = 8
_SQLITE_FULL = 13


def write_failure(exc: BaseException) -> StorageWriteError | None:
    """The typed error for a write refused because the disk is full or the database is read-only."""
    if isinstance(exc, StorageWriteError):
        return exc
    if not isinstance(exc, sqlite3.Error | OSError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    lowered = text.lower()
    if primary == _SQLITE_FULL or "database or disk is full" in lowered or getattr(exc, "errno", 0) == 28:
        return StorageWriteError(WriteFailure.DISK_FULL, text)
    if primary == _SQLITE_READONLY or "readonly database" in lowered or "read-only file system" in lowered:
        return StorageWriteError(WriteFailure.READ_ONLY, text)
    return None


@contextmanager
def _typed_write_errors() -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        typed = write_failure(exc)
        if typed is None or typed is exc:
            raise
        raise typed from exc


@dataclass(eq=False)
class _Transaction:
    owner: asyncio.Task[Any] | None  # the task that opened it: only its statements run in it
    open: bool = True
    savepoints: int = 0


@dataclass(frozen=True, slots=True)
class Changes:
    """What one writing statement did."""

    rowcount: int
    lastrowid: int | None


class Database:
    """The SQLite database: one aiosqlite connection (one thread) that every query goes through.

    Guarantees, which every repository relies on and a PostgreSQL backend must give as well:

    - `async with db.transaction():` is one unit of work: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any
      exception, so a failed block leaves nothing behind. The open transaction is carried by a ContextVar
      for the task that opened it, so every repository method that task calls inside the block runs in it
      on its own: no connection is ever passed around, and forgetting to pass one cannot deadlock.
    - A nested `transaction()` in the same task does not wait for itself: it opens a SAVEPOINT, so an
      exception leaving the inner block undoes only that block before going on up. A repository method is
      atomic on its own outside a transaction; inside one it is simply part of it (a statement refused by
      a constraint leaves nothing, but a failure half-way through a multi-statement write must leave the
      transaction, or be caught around a nested `transaction()`).
    - Writes are serialised by one lock. A write from another task, inside its own transaction or not,
      waits until the open transaction has ended; it is never mixed into it. A task started from inside a
      transaction is another task: do not await its writes from inside the block (that would wait forever).
    - A single writing statement outside a transaction is atomic by itself and costs one hop to the
      database thread (autocommit, no BEGIN/COMMIT); `atomic()` runs a multi-statement write in one hop.
    - Reads are not serialised and share the one connection: a read sees everything committed, and — as
      the connection is shared — also what an open transaction has written so far (read-uncommitted
      within this process). Inside a transaction a task therefore always reads its own writes.
    """

    def __init__(self, path: Path | str, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._migrations = migrations
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._context: ContextVar[_Transaction | None] = ContextVar(f"transaction of {path}", default=None)

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn

    async def connect(self) -> None:
        """Open and migrate; a database that cannot be used raises DatabaseUnusable with the reason."""
        opened = False
        try:
            if isinstance(self.path, Path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Opened once synchronously first: aiosqlite leaves its thread behind when the open
                # itself fails, and that thread keeps the process from exiting.
                sqlite3.connect(self.path).close()
            self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute("PRAGMA journal_mode = WAL")
            await self._conn.execute("PRAGMA foreign_keys = ON")
            await self._conn.execute("PRAGMA busy_timeout = 5000")
            await self._conn.execute("PRAGMA synchronous = NORMAL")
            # Reads the schema: a truncated or damaged file fails here rather than at the first query.
            await self._conn.execute("SELECT count(*) FROM sqlite_master")
            opened = True
            await self.migrate()
        except BaseException as exc:
            # Do not leave the connection's thread running behind a failed start.
            await self.close()
            if isinstance(exc, OSError | sqlite3.Error):
                failure = unusable(self.path, exc)
                # A migration that fails for its own reasons is a bug to see, not a bad database.
                if not opened or failure.reason is not Unusable.FAILED:
                    raise failure from exc
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
            raise DatabaseUnusable(
                Unusable.TOO_NEW,
                self.path,
                f"schema version {current}, newer than this program ({len(self._migrations)})",
            )
        if current == 0 and await self.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'"):
            raise DatabaseUnusable(Unusable.NOT_OURS, self.path, "tables of another program")
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

    # -- transactions ---------------------------------------------------------------------------------------

    def _current(self) -> _Transaction | None:
        """The transaction the running task has open on this database, if any."""
        tx = self._context.get()
        if tx is not None and tx.open and tx.owner is asyncio.current_task():
            return tx
        return None

    @property
    def in_transaction(self) -> bool:
        """True inside `async with db.transaction():` (in the task that opened it)."""
        return self._current() is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One unit of work: BEGIN IMMEDIATE … COMMIT, rolled back on any exception.

        Every statement of this database issued inside the block by the same task, through any
        repository, runs in this transaction; nothing needs to be passed around. Nested, it opens a
        SAVEPOINT: an exception leaving the inner block undoes just that block (and goes on up).

        A write refused because the disk is full or the file is read-only leaves as StorageWriteError,
        with everything the block wrote undone.
        """
        with _typed_write_errors():
            outer = self._current()
            if outer is not None:
                async with self._savepoint(outer):
                    yield
                return
            async with self._begun():
                yield

    @asynccontextmanager
    async def _begun(self) -> AsyncIterator[None]:
        async with self._write_lock:
            conn = self.conn
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                # Cancelled while BEGIN was queued: it still runs, and must not outlive the lock.
                await self._rollback()
                raise
            tx = _Transaction(asyncio.current_task())
            token = self._context.set(tx)
            try:
                yield
            except BaseException:
                tx.open = False
                await self._rollback()
                raise
            else:
                tx.open = False
                try:
                    await conn.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
            finally:
                tx.open = False
                self._context.reset(token)

    @asynccontextmanager
    async def _savepoint(self, tx: _Transaction) -> AsyncIterator[None]:
        tx.savepoints += 1
        name = f"nested_{tx.savepoints}"
        await self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            # SQLite may have rolled the whole transaction back itself (a full disk, an I/O error): then
            # there is no savepoint left to go back to, and the original error is the one to report.
            await self._on_thread(_rollback_to_if_open, name)
            raise
        else:
            await self.conn.execute(f"RELEASE {name}")

    async def _rollback(self) -> None:
        # Decided on the database thread, after every statement queued before it: a failed COMMIT may have
        # ended the transaction already, and ROLLBACK outside one is an error. Once queued it runs even if
        # this task is cancelled again, before anything another task queues after taking the lock.
        await self._on_thread(_rollback_if_open)

    # -- statements ---------------------------------------------------------------------------------------
    # Each is one hop to the database thread. A write outside a transaction takes the write lock for that
    # one statement (autocommit: atomic by itself); inside one it runs on it at once.

    async def execute(self, sql: str, params: Sequence[object] = ()) -> Changes:
        """One INSERT/UPDATE/DELETE; how many rows it changed and the last inserted rowid."""
        with _typed_write_errors():
            if self._current() is not None:
                cur = await self.conn.execute(sql, params)
            else:
                async with self._write_lock:
                    cur = await self.conn.execute(sql, params)
        return Changes(cur.rowcount, cur.lastrowid)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """One statement for many parameter rows, atomically (inside a transaction, or as one of its own)."""
        if self._current() is not None:
            with _typed_write_errors():
                cur = await self.conn.executemany(sql, rows)
            return cur.rowcount
        batch = list(rows)
        return await self.atomic(lambda conn: conn.executemany(sql, batch).rowcount)

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        """One writing statement, returning its rows (`RETURNING`)."""
        with _typed_write_errors():
            if self._current() is not None:
                return list(await self.conn.execute_fetchall(sql, params))
            async with self._write_lock:
                return list(await self.conn.execute_fetchall(sql, params))

    async def atomic(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the database thread in a single hop, however many statements it issues: as part of
        the current transaction, or else as a transaction of its own. `work` must only use the connection
        it is given and must not wait for anything else.

        Inside a transaction it takes no savepoint of its own (one per document would double the cost of
        a batch ingest): if it fails half-way, the exception must leave the transaction, which then rolls
        back. To catch a failed write and go on, put the write in a nested `transaction()`."""
        with _typed_write_errors():
            if self._current() is not None:
                return await self._on_thread(_joined, work)
            async with self._write_lock:
                return await self._on_thread(_in_transaction, work)

    async def _on_thread(self, fn: Callable[..., T], *args: object) -> T:
        conn = self.conn
        # aiosqlite runs every call on its connection's own thread through `_execute`; queueing our own
        # function there is what makes a multi-statement write one hop instead of one per statement.
        raw = conn._conn
        result: T = await conn._execute(fn, raw, *args)  # type: ignore[no-untyped-call]
        return result

    # -- reads ------------------------------------------------------------------------------------------
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


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _joined(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    return work(conn)


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _rollback_to_if_open(conn: sqlite3.Connection, name: str) -> None:
    if conn.in_transaction:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
