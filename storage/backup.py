"""Copies of an SQLite database that are safe while the bot writes to it, and putting one back.

A database in WAL mode is not one file: committed pages may still sit in `<db>-wal`, so copying the main
file gives a database that misses them, or a torn one. SQLite's online backup API copies through SQLite
itself; done in one step it reads under one read transaction, i.e. one consistent snapshot, and in WAL
mode a reader never blocks the writer.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.db import DatabaseUnusable, Unusable, unusable
from storage.migrations import MIGRATIONS

# Tables every version of our schema has: a file without them is some other program's database.
OUR_TABLES = frozenset({"documents", "users", "audit_log", "subscriptions", "deliveries"})


@dataclass(frozen=True)
class DatabaseInfo:
    path: Path
    schema_version: int
    documents: int
    bytes: int


class DatabaseBusy(RuntimeError):
    """Another connection holds the database (its WAL cannot be folded back into the file)."""


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise DatabaseUnusable(Unusable.CANNOT_OPEN, path, "no such file")
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise unusable(path, exc) from exc


def inspect_sqlite(path: Path) -> DatabaseInfo:
    """What the file at `path` is; DatabaseUnusable when it is not an intact database of ours that this
    version can open (damaged, another program's, or of a newer schema)."""
    conn = _open_read_only(path)
    try:
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as exc:
            raise unusable(path, exc) from exc
        if check is None or check[0] != "ok":
            raise DatabaseUnusable(Unusable.DAMAGED, path, f"integrity check: {check[0] if check else '?'}")
        if version > len(MIGRATIONS):
            raise DatabaseUnusable(
                Unusable.TOO_NEW,
                path,
                f"schema version {version}, newer than this program ({len(MIGRATIONS)})",
            )
        missing = OUR_TABLES - tables
        if version == 0 or missing:
            raise DatabaseUnusable(Unusable.NOT_OURS, path, "not a database of this bot")
        documents = int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    finally:
        conn.close()
    return DatabaseInfo(path, version, documents, path.stat().st_size)


def backup_sqlite(source: Path, target: Path) -> DatabaseInfo:
    """Copy the live database `source` to `target` (which must not exist) consistently, and check the copy.
    The copy is written beside `target` first and renamed at the end: `target` is never half-written."""
    inspect_sqlite(source)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    src = _open_read_only(source)
    try:
        dst = sqlite3.connect(partial)
        try:
            # pages=-1: the whole database in one step, under one read transaction: one snapshot.
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    try:
        info = inspect_sqlite(partial)
    except DatabaseUnusable:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return DatabaseInfo(target, info.schema_version, info.documents, target.stat().st_size)


def _fold_wal(path: Path) -> None:
    """Write the WAL back into the main file and leave WAL mode, so that the file alone is the database.
    SQLite leaves WAL mode only when no other connection has the database open: that is how a process
    still using it (a shell command) is found, and DatabaseBusy raised, before the file is moved away."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            raise DatabaseBusy(f"{path} is in use by another connection") from exc
        if mode != "delete":
            raise DatabaseBusy(f"{path} stays in {mode} mode")
    finally:
        conn.close()


def replace_sqlite(current: Path, replacement: Path) -> Path | None:
    """Put the database `replacement` in place of `current`, keeping the old one as `<current>.bak`
    (returned; None when there was none). The caller makes sure no bot runs on `current`."""
    inspect_sqlite(replacement)
    incoming = current.with_name(current.name + ".restoring")
    incoming.unlink(missing_ok=True)
    backup_sqlite(replacement, incoming)
    kept: Path | None = None
    try:
        if current.exists():
            _fold_wal(current)
            kept = current.with_name(current.name + ".bak")
            os.replace(current, kept)
        # A WAL left beside the new file would be replayed into it: it belongs to the old one.
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                current.with_name(current.name + suffix).unlink()
        os.replace(incoming, current)
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise
    return kept
