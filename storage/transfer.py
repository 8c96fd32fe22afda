"""Copy an SQLite database into an empty PostgreSQL one (`python -m bot migrate-db --to postgresql://…`).

Every table both schemas have is copied with the columns both have, ids included (deep links, digest
cursors and the audit log refer to them), each value converted to the PostgreSQL column's type. What only
PostgreSQL has is derived: its full-text index (`doc_index`, `postings`, `doc_terms`, `index_totals`) is
built from the terms in SQLite's FTS table, exactly as the PostgreSQL repositories index a document.
Everything is written in one transaction: a failed copy leaves the target as empty as it was. Identity
sequences continue after the highest id SQLite ever gave (never reusing the id of a deleted document).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from storage.db import Database
from storage.postgres.db import PostgresDatabase
from storage.postgres.fulltext import index_row

BATCH = 2000
# Only PostgreSQL has these: the schema's own bookkeeping, and the index derived from SQLite's doc_fts.
DERIVED = frozenset({"schema_version", "doc_index", "postings", "doc_terms", "index_totals"})
# Who holds what right now: meaningless in another database (a lease of a process that is not running).
EPHEMERAL = frozenset({"leases", "engines"})
# A non-empty target is refused when any of these has a row.
CONTENT_TABLES = ("documents", "users", "subscriptions", "audit_log", "deliveries")


class TargetNotEmpty(RuntimeError):
    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"table {table} has {rows} rows")
        self.table = table
        self.rows = rows


@dataclass
class TransferReport:
    # table -> (rows in SQLite, rows in PostgreSQL after the copy)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return all(a == b for a, b in self.counts.values())


@dataclass(frozen=True)
class _Column:
    name: str
    type: str  # information_schema data_type
    identity: bool


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _converter(pg_type: str) -> Callable[[Any], Any]:
    if pg_type in ("bigint", "integer", "smallint"):
        return int
    if pg_type == "boolean":
        return bool
    if pg_type in ("real", "double precision", "numeric"):
        return float
    if pg_type == "timestamp with time zone":
        return lambda v: _aware(datetime.fromisoformat(v)) if isinstance(v, str) else v
    if pg_type == "date":
        return lambda v: date.fromisoformat(v) if isinstance(v, str) and v else None
    if pg_type == "bytea":
        return bytes
    if pg_type in ("text", "character varying", "json", "jsonb"):
        return lambda v: v if isinstance(v, str) else json.dumps(v) if pg_type.startswith("json") else str(v)
    return lambda v: v


def _rows(conn: sqlite3.Connection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    cur = conn.execute(sql)
    while batch := cur.fetchmany(BATCH):
        yield batch


async def _columns(conn: asyncpg.Connection[Any]) -> dict[str, list[_Column]]:
    rows = await conn.fetch(
        "SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    tables: dict[str, list[_Column]] = {}
    for r in rows:
        tables.setdefault(r["table_name"], []).append(
            _Column(r["column_name"], r["data_type"], r["is_identity"] == "YES")
        )
    return tables


async def _order(conn: asyncpg.Connection[Any], tables: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """`tables` ordered so that every table comes after those it refers to; and each table's columns that
    refer to the table itself (written after the rows, so that their order does not matter)."""
    rows = await conn.fetch(
        "SELECT tc.table_name AS child, kcu.column_name AS col, ccu.table_name AS parent "
        "FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
        "AND tc.table_schema = kcu.table_schema "
        "JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name "
        "AND tc.table_schema = ccu.table_schema "
        "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"
    )
    parents: dict[str, set[str]] = {t: set() for t in tables}
    self_refs: dict[str, list[str]] = {}
    for r in rows:
        if r["child"] not in tables:
            continue
        if r["child"] == r["parent"]:
            self_refs.setdefault(r["child"], []).append(r["col"])
        elif r["parent"] in tables:
            parents[r["child"]].add(r["parent"])
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, deps in parents.items() if not deps - set(ordered))
        if not ready:  # a cycle between tables: our schema has none, but never loop forever
            ready = sorted(parents)
        for t in ready:
            ordered.append(t)
            del parents[t]
    return ordered, self_refs


async def check_empty(url: str) -> None:
    """TargetNotEmpty when the database at `url` holds any of our content."""
    conn = await asyncpg.connect(url)
    try:
        for table in CONTENT_TABLES:
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                rows = int(await conn.fetchval(f'SELECT count(*) FROM "{table}"'))
                if rows:
                    raise TargetNotEmpty(table, rows)
    finally:
        await conn.close()


async def copy_to_postgres(
    sqlite_path: Path, target_url: str, progress: Callable[[str, int], None] = lambda table, n: None
) -> TransferReport:
    """Copy the SQLite database at `sqlite_path` into the empty PostgreSQL database at `target_url`
    (created or brought to the current schema first). Raises TargetNotEmpty when it holds content."""
    await check_empty(target_url)
    source_db = Database(sqlite_path)  # brought to the current schema, so that both have the same columns
    await source_db.connect()
    await source_db.close()
    target = PostgresDatabase(target_url)
    await target.connect()
    await target.close()
    await check_empty(target_url)
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    conn = await asyncpg.connect(target_url)
    try:
        async with conn.transaction():
            return await _copy(source, conn, progress)
    finally:
        await conn.close()
        source.close()


async def _copy(
    source: sqlite3.Connection, conn: asyncpg.Connection[Any], progress: Callable[[str, int], None]
) -> TransferReport:
    # One snapshot of the source for the whole copy.
    source.execute("BEGIN")
    sqlite_tables = {
        r[0]
        for r in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE '%VIRTUAL%'"
        )
    }
    pg_columns = await _columns(conn)
    common = {t for t in pg_columns if t in sqlite_tables} - DERIVED - EPHEMERAL
    ordered, self_refs = await _order(conn, common)
    report = TransferReport()
    for table in ordered:
        source_columns = {r[1] for r in source.execute(f'PRAGMA table_info("{table}")')}
        columns = [c for c in pg_columns[table] if c.name in source_columns]
        report.counts[table] = await _copy_table(source, conn, table, columns, self_refs.get(table, []))
        progress(table, report.counts[table][1])
    report.counts["doc_index"] = await _copy_index(source, conn)
    progress("doc_index", report.counts["doc_index"][1])
    await _continue_identities(source, conn, pg_columns, ordered)
    return report


async def _copy_table(
    source: sqlite3.Connection,
    conn: asyncpg.Connection[Any],
    table: str,
    columns: list[_Column],
    self_refs: list[str],
) -> tuple[int, int]:
    names = [c.name for c in columns]
    convert = [_converter(c.type) for c in columns]
    later = [names.index(c) for c in self_refs if c in names]
    links: list[tuple[Any, ...]] = []
    key = names.index("id") if later and "id" in names else None
    select = ", ".join(f'"{n}"' for n in names)
    for batch in _rows(source, f'SELECT {select} FROM "{table}"'):
        records = []
        for row in batch:
            values = [None if v is None else f(v) for f, v in zip(convert, row, strict=True)]
            if key is not None:
                links.append((values[key], *(values[i] for i in later)))
                for i in later:
                    values[i] = None
            records.append(tuple(values))
        await conn.copy_records_to_table(table, records=records, columns=names)
    if key is not None:
        for n, i in enumerate(later, start=1):
            pairs = [(link[0], link[n]) for link in links if link[n] is not None]
            if pairs:
                await conn.execute(
                    f'UPDATE "{table}" t SET "{names[i]}" = u.ref FROM unnest($1::bigint[], $2::bigint[]) '
                    "AS u(id, ref) WHERE t.id = u.id",
                    [p[0] for p in pairs],
                    [p[1] for p in pairs],
                )
    expected = int(source.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    return expected, int(await conn.fetchval(f'SELECT count(*) FROM "{table}"'))


async def _copy_index(source: sqlite3.Connection, conn: asyncpg.Connection[Any]) -> tuple[int, int]:
    """PostgreSQL's full-text rows from SQLite's: the same terms, indexed as its repositories index them."""
    docs: Counter[str] = Counter()
    totals = Counter[str]()
    for batch in _rows(source, "SELECT rowid, title, body FROM doc_fts ORDER BY rowid"):
        ids, titles, bodies, tsvs, lengths = [], [], [], [], []
        postings: list[tuple[str, int, float]] = []
        for doc_id, title, body in batch:
            row = index_row(title or "", body or "")
            ids.append(int(doc_id))
            titles.append(title or "")
            bodies.append(body or "")
            tsvs.append(row.tsv)
            lengths.append(row.length)
            postings += [(t, int(doc_id), row.tf[t]) for t in row.terms]
            docs.update(row.terms)
            totals["docs"] += 1
            totals["tokens"] += row.length
        await conn.execute(
            "INSERT INTO doc_index (doc_id, title_terms, body_terms, tsv, length) "
            "SELECT i, t, b, v::tsvector, n FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
            "$5::int[]) AS u(i, t, b, v, n)",
            ids,
            titles,
            bodies,
            tsvs,
            lengths,
        )
        await conn.copy_records_to_table("postings", records=postings, columns=["term", "doc_id", "tf"])
    await conn.copy_records_to_table("doc_terms", records=sorted(docs.items()), columns=["term", "docs"])
    await conn.execute("UPDATE index_totals SET docs = $1, tokens = $2", totals["docs"], totals["tokens"])
    expected = int(source.execute("SELECT count(*) FROM doc_fts").fetchone()[0])
    return expected, int(await conn.fetchval("SELECT count(*) FROM doc_index"))


async def _continue_identities(
    source: sqlite3.Connection,
    conn: asyncpg.Connection[Any],
    pg_columns: dict[str, list[_Column]],
    tables: list[str],
) -> None:
    issued = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    for table in tables:
        for column in pg_columns[table]:
            if not column.identity:
                continue
            highest = int(await conn.fetchval(f'SELECT coalesce(max("{column.name}"), 0) FROM "{table}"'))
            after = max(highest, int(issued.get(table, 0)))
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence($1, $2), $3, false)",
                f'"{table}"',
                column.name,
                after + 1,
            )
