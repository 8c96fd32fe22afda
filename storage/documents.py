"""Documents, their full-text index and the per-document features used for duplicates and stories."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

from storage.db import Database, write_failure
from storage.models import (
    Alternatives,
    CorpusStats,
    Document,
    FeatureRow,
    KeyDoc,
    NearCandidate,
    NewDocument,
    Ranking,
    RestoreConflict,
    StoryQuery,
    TermQuery,
)

__all__ = ["DocumentRepository", "RestoreConflict", "compile_match"]

_COLUMNS = (
    "id, title, text, url, source_name, published, lang, content_hash, duplicate_of, story_id, hidden, "
    "created_at, updated_at, author"
)
# Newest first by publication date looks at this many of the newest-saved matches (at least).
BY_DATE_WINDOW = 200
_ADD_WORDS = (
    "INSERT INTO vocab (word, freq) VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET freq = freq + excluded.freq"
)
# Title terms count four times body terms in BM25.
_BM25 = "bm25(doc_fts, 4.0, 1.0)"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _to_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _row_to_document(row: sqlite3.Row) -> Document:
    return Document(
        id=row["id"],
        title=row["title"],
        text=row["text"],
        url=row["url"],
        source_name=row["source_name"],
        published=_to_date(row["published"]),
        lang=row["lang"],
        content_hash=row["content_hash"],
        duplicate_of=row["duplicate_of"],
        story_id=row["story_id"],
        hidden=bool(row["hidden"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        author=row["author"],
    )


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _alternatives(alt: Alternatives) -> str:
    parts = []
    for phrase in alt.phrases:
        quoted = '"' + " ".join(t.replace('"', '""') for t in phrase) + '"'
        parts.append(quoted + ("*" if alt.prefix else ""))
    return "(" + " OR ".join(parts) + ")"


def _has_phrase(query: TermQuery) -> bool:
    return any(len(p) > 1 for alt in (*query.required, *query.excluded) for p in alt.phrases)


def compile_match(query: TermQuery) -> str:
    """The FTS5 MATCH expression for a query; every term is quoted, so no user text is ever syntax."""
    if not query.required:
        raise ValueError("a query needs at least one required clause")
    joiner = " OR " if query.any_of else " AND "
    expr = "(" + joiner.join(_alternatives(a) for a in query.required) + ")"
    if query.excluded:
        expr += " NOT (" + " OR ".join(_alternatives(a) for a in query.excluded) + ")"
    return expr


class DocumentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing --------------------------------------------------------------------------------------
    # A write of several statements runs as one function on the database thread (`Database.atomic`):
    # one hop however many rows it touches, inside the caller's transaction when there is one.

    async def add(self, doc: NewDocument) -> int:
        """Insert a document with its index rows, atomically (inside the current transaction, if any)."""
        return await self.db.atomic(lambda conn: _add(conn, doc))

    async def add_many(self, docs: Sequence[NewDocument]) -> list[int | None]:
        """Insert a batch in one hop: the id of each document, or None for one the database refused (it is
        rolled back alone; the others are stored). A full disk or read-only database raises."""
        if not docs:
            return []
        return await self.db.atomic(lambda conn: _add_many(conn, docs))

    async def add_vocabulary(self, counts: Mapping[str, int]) -> None:
        """Count documents per word; a batch passes its words summed, one row per distinct word."""
        await self.db.executemany(
            _ADD_WORDS,
            list(counts.items()),
        )

    async def set_hidden(self, doc_id: int, hidden: bool, title_terms: str, body_terms: str) -> bool:
        """Hidden documents leave the index (and so search); showing one puts its terms back."""

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE documents SET hidden = ?, updated_at = ? WHERE id = ? AND hidden != ?",
                (int(hidden), _now(), doc_id, int(hidden)),
            )
            if cur.rowcount == 0:
                return False
            if hidden:
                conn.execute("DELETE FROM doc_fts WHERE rowid = ?", (doc_id,))
            else:
                conn.execute(
                    "INSERT INTO doc_fts (rowid, title, body) VALUES (?, ?, ?)",
                    (doc_id, title_terms, body_terms),
                )
            return True

        return await self.db.atomic(work)

    async def update_meta(
        self,
        doc_id: int,
        *,
        title: str | None = None,
        title_terms: str | None = None,
        published: date | None = None,
        source_name: str | None = None,
        url: str | None = None,
    ) -> bool:
        sets: list[str] = []
        params: list[object] = []
        for column, value in (
            ("title", title),
            ("published", published.isoformat() if published else None),
            ("source_name", source_name),
            ("url", url),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if not sets:
            return False

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"UPDATE documents SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                (*params, _now(), doc_id),
            )
            if cur.rowcount == 0:
                return False
            if title_terms is not None:
                conn.execute("UPDATE doc_fts SET title = ? WHERE rowid = ?", (title_terms, doc_id))
            return True

        return await self.db.atomic(work)

    async def get(self, doc_id: int) -> Document | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM documents WHERE id = ?", (doc_id,))
        return _row_to_document(row) if row else None

    async def by_hash(self, content_hash: str) -> Document | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM documents WHERE content_hash = ?", (content_hash,)
        )
        return _row_to_document(row) if row else None

    async def latest(
        self, limit: int, offset: int = 0, include_hidden: bool = False, since: date | None = None
    ) -> list[Document]:
        where = ["1=1"]
        params: list[object] = []
        if not include_hidden:
            where.append("hidden = 0")
        if since is not None:
            where.append("published >= ?")
            params.append(since.isoformat())
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM documents WHERE {' AND '.join(where)} "
            "ORDER BY published DESC NULLS LAST, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_row_to_document(r) for r in rows]

    async def count(self, include_hidden: bool = False) -> int:
        sql = "SELECT count(*) FROM documents" + ("" if include_hidden else " WHERE hidden = 0")
        return await self.db.int_scalar(sql)

    async def story_members(self, story_id: int, include_hidden: bool = False) -> list[Document]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM documents WHERE story_id = ?"
            + ("" if include_hidden else " AND hidden = 0")
            + " ORDER BY published DESC NULLS LAST, id DESC",
            (story_id,),
        )
        return [_row_to_document(r) for r in rows]

    # -- search ---------------------------------------------------------------------------------------

    async def search_documents(
        self, query: TermQuery, limit: int, offset: int = 0, by_recency: bool = False, by_date: bool = False
    ) -> list[tuple[Document, float]]:
        """Matching documents, best first by BM25 — or newest first when every clause is common (the
        service decides): by id (`by_recency`) or by publication date (`by_date`). Ranked and cut in the
        index first; only the page's documents are then read."""
        columns = ", ".join(f"d.{c.strip()}" for c in _COLUMNS.split(","))
        if by_date:
            # The newest-saved matches (the index walks them in rowid order and stops: fast for any query,
            # a prefix or an exclusion included), ordered by publication date. Exact while texts are saved
            # roughly in date order; a large backfill of old texts is the window's only blind spot.
            window = max(BY_DATE_WINDOW, 4 * (offset + limit))
            rows = await self.db.fetchall(
                f"SELECT {columns}, 0.0 AS score FROM ("
                "SELECT rowid FROM doc_fts WHERE doc_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
                ") AS m JOIN documents d ON d.id = m.rowid "
                "ORDER BY d.published DESC NULLS LAST, d.id DESC LIMIT ? OFFSET ?",
                (compile_match(query), window, limit, offset),
            )
            return [(_row_to_document(r), 0.0) for r in rows]
        order = "rowid DESC" if by_recency else "score, rowid DESC"
        score = "0.0" if by_recency else _BM25
        rows = await self.db.fetchall(
            f"SELECT {columns}, m.score AS score FROM ("
            f"SELECT rowid, {score} AS score FROM doc_fts WHERE doc_fts MATCH ? ORDER BY {order} LIMIT ? OFFSET ?"
            f") AS m JOIN documents d ON d.id = m.rowid ORDER BY m.{order.replace(', rowid', ', m.rowid')}",
            (compile_match(query), limit, offset),
        )
        return [(_row_to_document(r), -float(r["score"])) for r in rows]

    async def ranked_ids(self, query: TermQuery, limit: int) -> list[tuple[int, float, str]]:
        """(id, BM25 score, language) of the best `limit` matches, best first: enough to rank candidates
        against each other without reading their texts."""
        rows = await self.db.fetchall(
            f"SELECT m.rowid, m.score, d.lang FROM (SELECT rowid, {_BM25} AS score FROM doc_fts "
            "WHERE doc_fts MATCH ? ORDER BY score, rowid DESC LIMIT ?) AS m JOIN documents d ON d.id = m.rowid "
            "ORDER BY m.score, m.rowid DESC",
            (compile_match(query), limit),
        )
        return [(int(r[0]), -float(r[1]), str(r[2])) for r in rows]

    async def ranked(
        self, query: TermQuery, limit: int, window: int = 0, by_recency: bool = False
    ) -> Ranking:
        """The best `limit` matches, best first by BM25 (or newest first, `by_recency`), and how many there
        are, in one statement. With `window`, only the newest `window` matches are ranked and counted: the
        index walks them in rowid order and stops, so the work is bounded however common the words are (a
        phrase's: `_newest_ranked`)."""
        match = compile_match(query)
        if by_recency:
            rows = await self.db.fetchall(
                "SELECT m.rowid, 0.0, d.lang, (SELECT count(*) FROM (SELECT 1 FROM doc_fts WHERE doc_fts MATCH ?1 "
                "LIMIT ?3)) FROM (SELECT rowid FROM doc_fts WHERE doc_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2) "
                "AS m JOIN documents d ON d.id = m.rowid ORDER BY m.rowid DESC",
                (match, limit, window or -1),
            )
        elif window and _has_phrase(query):
            return await self._newest_ranked(match, limit, window)
        elif window:
            rows = await self.db.fetchall(
                "WITH w AS MATERIALIZED (SELECT coalesce(min(rowid), 0) AS lo, count(*) AS n FROM ("
                "SELECT rowid FROM doc_fts WHERE doc_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)) "
                f"SELECT m.rowid, m.score, d.lang, (SELECT n FROM w) FROM (SELECT rowid, {_BM25} AS score "
                "FROM doc_fts WHERE doc_fts MATCH ?1 AND rowid >= (SELECT lo FROM w) "
                "ORDER BY score, rowid DESC LIMIT ?3) AS m JOIN documents d ON d.id = m.rowid "
                "ORDER BY m.score, m.rowid DESC",
                (match, window, limit),
            )
        else:
            rows = await self.db.fetchall(
                f"SELECT m.rowid, m.score, d.lang, 0 FROM (SELECT rowid, {_BM25} AS score FROM doc_fts "
                "WHERE doc_fts MATCH ? ORDER BY score, rowid DESC LIMIT ?) AS m JOIN documents d "
                "ON d.id = m.rowid ORDER BY m.score, m.rowid DESC",
                (match, limit),
            )
        found = [(int(r[0]), -float(r[1]), str(r[2])) for r in rows]
        # Without a window the matches are counted only up to `limit`: the caller knows when that is all.
        matched = int(rows[0][3]) if rows and (window or by_recency) else len(found)
        return Ranking(found, matched, bounded=bool(window) and matched >= window)

    async def _newest_ranked(self, match: str, limit: int, window: int) -> Ranking:
        """The newest `window` matches of a query with a phrase, ranked by FTS5 in one walk of the texts
        holding its words, newest first, which stops when the window is full or they run out: counted exactly
        below the window, "N+" at it, as every query is. FTS5 checks a phrase's positions in every text it
        walks, so one pass finds and ranks the window. (Scoring the matches in Python, to spare bm25() its
        count of the phrase over the whole index, cost more: reading and scoring up to 500 texts.) The
        language is read for the best `limit` only: it follows the text in a row of `documents`, so each
        read walks the text's overflow pages (a millisecond for 400 texts at 100k)."""
        rows = await self.db.fetchall(
            f"WITH w AS MATERIALIZED (SELECT rowid, {_BM25} AS score FROM doc_fts WHERE doc_fts MATCH ?1 "
            "ORDER BY rowid DESC LIMIT ?2) SELECT m.rowid, m.score, d.lang, (SELECT count(*) FROM w) "
            "FROM (SELECT rowid, score FROM w ORDER BY score, rowid DESC LIMIT ?3) AS m "
            "JOIN documents d ON d.id = m.rowid ORDER BY m.score, m.rowid DESC",
            (match, window, limit),
        )
        matched = int(rows[0][3]) if rows else 0
        return Ranking(
            [(int(r[0]), -float(r[1]), str(r[2])) for r in rows], matched, bounded=matched >= window
        )

    async def index_terms(self, ids: Sequence[int]) -> dict[int, str]:
        """The indexed terms of these documents (title, then body), as the index holds them: enough to tell
        which words of a query each one has without asking the index once per word."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT rowid, title, body FROM doc_fts WHERE rowid IN ({marks})", list(ids)
        )
        return {int(r[0]): f"{r[1]} {r[2]}" for r in rows}

    async def get_many(self, ids: Sequence[int]) -> list[Document]:
        """The documents with these ids, in the order given (missing ones left out)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM documents WHERE id IN ({marks})", list(ids))
        by_id = {int(r["id"]): _row_to_document(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def count_matches(self, query: TermQuery, cap: int) -> int:
        """How many documents match, at most `cap` of them: counting every match of a common word is slow."""
        row = await self.db.fetchone(
            "SELECT count(*) FROM (SELECT 1 FROM doc_fts WHERE doc_fts MATCH ? LIMIT ?)",
            (compile_match(query), cap),
        )
        return int(row[0]) if row else 0

    async def prefix_freq(self, prefix: str, limit: int = 50) -> int:
        row = await self.db.fetchone(
            "SELECT sum(doc) FROM (SELECT doc FROM doc_fts_vocab WHERE term >= ? AND term < ? LIMIT ?)",
            (prefix, prefix + "\uffff", limit),
        )
        return int(row[0] or 0) if row else 0

    async def vocabulary(self) -> list[tuple[str, int]]:
        rows = await self.db.fetchall("SELECT word, freq FROM vocab")
        return [(r[0], int(r[1])) for r in rows]

    async def term_frequencies(self) -> dict[str, int]:
        """How many indexed (visible) documents hold each index term."""
        rows = await self.db.fetchall("SELECT term, doc FROM doc_fts_vocab")
        return {r[0]: int(r[1]) for r in rows}

    async def indexed_count(self) -> int:
        """How many documents the full-text index holds (the visible ones)."""
        return await self.db.int_scalar("SELECT count(*) FROM doc_fts")

    # -- duplicates and stories -----------------------------------------------------------------------

    async def band_candidates(self, bands: Sequence[int], limit: int = 50) -> list[int]:
        """Documents sharing at least one MinHash band: the only ones that can be near-duplicates."""
        if not bands:
            return []
        clause = " OR ".join("(band = ? AND hash = ?)" for _ in bands)
        params: list[object] = [x for i, h in enumerate(bands) for x in (i, h)]
        rows = await self.db.fetchall(
            f"SELECT doc_id, count(*) AS shared FROM doc_bands WHERE {clause} "
            "GROUP BY doc_id ORDER BY shared DESC LIMIT ?",
            (*params, limit),
        )
        return [int(r[0]) for r in rows]

    async def by_hashes(self, hashes: Sequence[str]) -> dict[str, Document]:
        """The stored documents with these content hashes, by hash."""
        if not hashes:
            return {}
        marks = ",".join("?" * len(hashes))
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM documents WHERE content_hash IN ({marks})", list(hashes)
        )
        return {r["content_hash"]: _row_to_document(r) for r in rows}

    async def near_candidates(
        self, bands: Sequence[Sequence[int]], limit: int = 50
    ) -> list[list[NearCandidate]]:
        """For each new document's bands, the stored documents sharing the most of them (as
        `band_candidates`), with their signatures and originals: all in one hop."""
        return await self.db.atomic(lambda conn: [_near_candidates(conn, b, limit) for b in bands])

    async def story_candidates_many(
        self,
        queries: Sequence[StoryQuery],
        limit: int,
        per_key: int = 25,
        min_shared: int = 1,
        fingerprints: bool = True,
    ) -> list[list[FeatureRow]]:
        """`story_candidates` of several new documents, in one hop; without `fingerprints` their fingerprints
        are left empty (a caller that keeps them parsed asks `fingerprints` for the ones it lacks)."""
        return await self.db.atomic(
            lambda conn: [
                _story_candidates(
                    conn, q.keys, q.start, q.end, q.limit or limit, per_key, min_shared, fingerprints
                )
                for q in queries
            ]
        )

    async def fingerprints(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored fingerprints (JSON) of these documents."""
        return {
            doc_id: str(value) for doc_id, value in (await self._feature_column(ids, "fingerprint")).items()
        }

    async def story_key_docs(
        self, queries: Sequence[StoryQuery], per_key: int = 25
    ) -> list[list[list[KeyDoc]]]:
        """For each query and each of its keys, the documents that key offers to `story_candidates`: in the
        window, most recent first (then the newest id), at most `per_key`; in one hop."""
        return await self.db.atomic(
            lambda conn: [[_key_docs(conn, key, q.start, q.end, per_key) for key in q.keys] for q in queries]
        )

    async def minhashes(self, ids: Sequence[int]) -> dict[int, bytes]:
        return {
            doc_id: bytes(value) for doc_id, value in (await self._feature_column(ids, "minhash")).items()
        }

    async def _feature_column(
        self, ids: Sequence[int], column: Literal["minhash", "fingerprint"]
    ) -> dict[int, Any]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT doc_id, {column} FROM doc_features WHERE doc_id IN ({marks})", list(ids)
        )
        return {int(r[0]): r[1] for r in rows}

    async def fingerprint(self, doc_id: int) -> dict[str, float]:
        value = await self.db.scalar("SELECT fingerprint FROM doc_features WHERE doc_id = ?", (doc_id,))
        if not isinstance(value, str):
            return {}
        parsed = json.loads(value)
        return {str(k): float(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}

    async def story_candidates(
        self,
        keys: Sequence[str],
        start: date | None,
        end: date | None,
        limit: int,
        per_key: int = 25,
        min_shared: int = 1,
    ) -> list[FeatureRow]:
        """Documents in the date window (or undated ones) sharing the most strong keys with a new one.

        Each key contributes at most `per_key` documents: a key that most documents share (the city's
        name) would otherwise make every lookup read thousands of rows on a large corpus.
        """
        if not keys:
            return []
        sql, params = _story_candidates_sql(keys, start, end, limit, per_key, min_shared)
        rows = await self.db.fetchall(sql, params)
        return [_feature_row(r) for r in rows]

    async def stats(self) -> CorpusStats:
        total = await self.db.int_scalar("SELECT count(*) FROM documents")
        hidden = await self.db.int_scalar("SELECT count(*) FROM documents WHERE hidden = 1")
        langs = await self.db.fetchall("SELECT lang, count(*) FROM documents GROUP BY lang ORDER BY 2 DESC")
        months = await self.db.fetchall(
            "SELECT coalesce(substr(published, 1, 7), 'undated'), count(*) "
            "FROM documents GROUP BY 1 ORDER BY 1"
        )
        terms = await self.db.int_scalar("SELECT count(*) FROM doc_fts_vocab")
        page_size = await self.db.int_scalar("PRAGMA page_size") or 4096
        page_count = await self.db.int_scalar("PRAGMA page_count")
        index_bytes = 0
        try:
            index_bytes = await self.db.int_scalar(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'doc_fts%'"
            )
        except sqlite3.OperationalError:
            # dbstat is a compile-time option; without it the index size is unknown rather than an error.
            index_bytes = 0
        return CorpusStats(
            documents=total,
            hidden=hidden,
            by_language={r[0]: int(r[1]) for r in langs},
            by_month={r[0]: int(r[1]) for r in months},
            index_bytes=index_bytes,
            database_bytes=page_size * page_count,
            terms=terms,
        )

    # -- the bin: a deleted document is kept whole for a while, so that the delete can be undone ----------

    async def move_to_bin(self, doc_id: int, admin_id: int) -> Document | None:
        """Delete a document with every row that belongs to it, keeping a copy in the bin, atomically.
        None when there is no such document."""
        return await self.db.atomic(lambda conn: _move_to_bin(conn, doc_id, admin_id))

    async def restore_from_bin(self, doc_id: int, deleted_after: datetime) -> int | None:
        """Put a deleted document back, under its old id when that is still free; returns its id, or None
        when the bin has no copy deleted after `deleted_after`. Raises RestoreConflict when the same text
        was added again meanwhile."""
        return await self.db.atomic(lambda conn: _restore_from_bin(conn, doc_id, deleted_after))

    async def last_in_bin(self, admin_id: int, deleted_after: datetime) -> Document | None:
        """The document `admin_id` deleted last, as it was, if it was deleted after `deleted_after` and is
        still in the bin (what their undo would bring back)."""
        row = await self.db.fetchone(
            "SELECT payload FROM deleted_documents WHERE admin_id = ? AND deleted_at >= ? "
            "ORDER BY deleted_at DESC, rowid DESC LIMIT 1",
            (admin_id, deleted_after.isoformat(timespec="seconds")),
        )
        if row is None:
            return None
        # The payload keeps the row as a mapping of its columns, which reads like the row itself; a document
        # put in the bin before authors were kept has none.
        doc = {"author": None} | json.loads(row[0])["document"]
        return _row_to_document(cast(sqlite3.Row, doc))

    # -- for the admins' lists -----------------------------------------------------------------------

    async def hidden(self, limit: int = 1000) -> list[Document]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM documents WHERE hidden = 1 ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_row_to_document(r) for r in rows]

    # -- digests: what is new after a subscriber's cursor --------------------------------------------------
    # Document ids only grow, so "after this id" is "saved since": a cursor per subscriber is one integer.

    async def latest_visible_id(self) -> int:
        return await self.db.int_scalar("SELECT coalesce(max(id), 0) FROM documents WHERE hidden = 0")

    async def cursor_before_latest(self, count: int) -> int:
        """A cursor with the `count` most recently saved visible documents after it (0 when there are fewer)."""
        return await self.db.int_scalar(
            "SELECT coalesce((SELECT id FROM documents WHERE hidden = 0 ORDER BY id DESC LIMIT 1 OFFSET ?), 0)",
            (max(0, count),),
        )

    async def visible_after(self, cursor: int, limit: int) -> list[Document]:
        """Visible documents saved after `cursor`, the most recently saved first, at most `limit`."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM documents WHERE hidden = 0 AND id > ? ORDER BY id DESC LIMIT ?",
            (cursor, limit),
        )
        return [_row_to_document(r) for r in rows]

    async def matching_among(self, query: TermQuery, ids: Sequence[int]) -> set[int]:
        """Which of `ids` the query matches (hidden documents are not in the index, so never)."""
        found: set[int] = set()
        match = compile_match(query)
        chunk = 500
        for start in range(0, len(ids), chunk):
            part = list(ids[start : start + chunk])
            marks = ",".join("?" * len(part))
            rows = await self.db.fetchall(
                f"SELECT rowid FROM doc_fts WHERE doc_fts MATCH ? AND rowid IN ({marks})", (match, *part)
            )
            found.update(int(r[0]) for r in rows)
        return found


# -- the multi-statement writes, each run on the database thread in one hop ---------------------------------


def _add(conn: sqlite3.Connection, doc: NewDocument) -> int:
    now = _now()
    published = doc.published.isoformat() if doc.published else None
    cur = conn.execute(
        "INSERT INTO documents (title, text, url, source_name, published, lang, content_hash, "
        "duplicate_of, story_id, hidden, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,0,?,?)",
        (
            doc.title,
            doc.text,
            doc.url,
            doc.source_name,
            published,
            doc.lang,
            doc.content_hash,
            doc.duplicate_of,
            doc.story_id,
            now,
            now,
        ),
    )
    doc_id = cur.lastrowid
    assert doc_id is not None
    if doc.story_id is None:
        conn.execute("UPDATE documents SET story_id = id WHERE id = ?", (doc_id,))
    conn.execute(
        "INSERT INTO doc_fts (rowid, title, body) VALUES (?, ?, ?)", (doc_id, doc.title_terms, doc.body_terms)
    )
    conn.executemany(
        "INSERT OR IGNORE INTO doc_bands (band, hash, doc_id) VALUES (?, ?, ?)",
        [(i, h, doc_id) for i, h in enumerate(doc.bands)],
    )
    conn.execute(
        "INSERT INTO doc_features (doc_id, minhash, fingerprint) VALUES (?, ?, ?)",
        (doc_id, doc.minhash, doc.fingerprint),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO story_keys (key, published, doc_id) VALUES (?, ?, ?)",
        [(k, published or "", doc_id) for k in doc.story_keys],
    )
    if doc.words:
        conn.executemany(
            _ADD_WORDS,
            list(Counter(doc.words).items()),
        )
    return doc_id


_INSERT_DOCUMENT = (
    "INSERT INTO documents (id, title, text, url, source_name, published, lang, content_hash, "
    "duplicate_of, story_id, hidden, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,0,?,?)"
)


def _add_many(conn: sqlite3.Connection, docs: Sequence[NewDocument]) -> list[int | None]:
    """The whole batch with one statement per table; if the database refuses any of it, again one document
    at a time, each in its own savepoint, so that only the refused ones are lost."""
    conn.execute("SAVEPOINT add_many")
    try:
        ids: list[int | None] = _insert_together(conn, docs)
    except sqlite3.Error as exc:
        _rollback_to(conn, "add_many")
        if write_failure(exc) is not None:
            raise
    else:
        conn.execute("RELEASE add_many")
        return ids
    ids = []
    for doc in docs:
        conn.execute("SAVEPOINT add_one")
        try:
            doc_id = _add(conn, _resolved(doc, ids))
        except sqlite3.Error as exc:
            _rollback_to(conn, "add_one")
            if write_failure(exc) is not None:
                raise
            ids.append(None)
        else:
            conn.execute("RELEASE add_one")
            ids.append(doc_id)
    return ids


def _rollback_to(conn: sqlite3.Connection, name: str) -> None:
    # A full disk may have ended the whole transaction already: then there is no savepoint to go back to.
    if conn.in_transaction:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")


def _resolved(doc: NewDocument, ids: Sequence[int | None]) -> NewDocument:
    """`doc` with its references to earlier documents of the batch turned into their ids."""
    if doc.story_of is None and doc.copy_of is None:
        return doc
    story_id, duplicate_of = doc.story_id, doc.duplicate_of
    if doc.story_of is not None:
        story_id = ids[doc.story_of]
    if doc.copy_of is not None:
        duplicate_of = ids[doc.copy_of]
    return replace(doc, story_id=story_id, duplicate_of=duplicate_of, story_of=None, copy_of=None)


def _insert_together(conn: sqlite3.Connection, docs: Sequence[NewDocument]) -> list[int | None]:
    # Ids are given, not left to AUTOINCREMENT, so that a story started in this batch is known at once; the
    # write transaction holds the lock, and the sequence moves past them as with AUTOINCREMENT.
    row = conn.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'documents'), 0), "
        "coalesce((SELECT max(id) FROM documents), 0))"
    ).fetchone()
    first = int(row[0]) + 1
    ids: list[int | None] = list(range(first, first + len(docs)))
    now = _now()
    docs = [_resolved(doc, ids) for doc in docs]
    published = [doc.published.isoformat() if doc.published else None for doc in docs]
    conn.executemany(
        _INSERT_DOCUMENT,
        [
            (
                doc_id,
                doc.title,
                doc.text,
                doc.url,
                doc.source_name,
                day,
                doc.lang,
                doc.content_hash,
                doc.duplicate_of,
                doc.story_id if doc.story_id is not None else doc_id,
                now,
                now,
            )
            for doc_id, doc, day in zip(ids, docs, published, strict=True)
        ],
    )
    conn.executemany(
        "INSERT INTO doc_fts (rowid, title, body) VALUES (?, ?, ?)",
        [(doc_id, doc.title_terms, doc.body_terms) for doc_id, doc in zip(ids, docs, strict=True)],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO doc_bands (band, hash, doc_id) VALUES (?, ?, ?)",
        [(i, h, doc_id) for doc_id, doc in zip(ids, docs, strict=True) for i, h in enumerate(doc.bands)],
    )
    conn.executemany(
        "INSERT INTO doc_features (doc_id, minhash, fingerprint) VALUES (?, ?, ?)",
        [(doc_id, doc.minhash, doc.fingerprint) for doc_id, doc in zip(ids, docs, strict=True)],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO story_keys (key, published, doc_id) VALUES (?, ?, ?)",
        [
            (k, day or "", doc_id)
            for doc_id, doc, day in zip(ids, docs, published, strict=True)
            for k in doc.story_keys
        ],
    )
    words: Counter[str] = Counter()
    for doc in docs:
        words.update(doc.words)
    if words:
        conn.executemany(_ADD_WORDS, list(words.items()))
    return ids


# A candidate's story, original, date and language from the index that holds just them: SQLite would look an id
# up in the table itself, and reach these columns only past the text (overflow pages, for most texts).
_META = "INDEXED BY documents_meta"


def _near_candidates(conn: sqlite3.Connection, bands: Sequence[int], limit: int) -> list[NearCandidate]:
    if not bands:
        return []
    clause = " OR ".join("(band = ? AND hash = ?)" for _ in bands)
    params: list[object] = [x for i, h in enumerate(bands) for x in (i, h)]
    rows = conn.execute(
        "SELECT f.doc_id, f.minhash, coalesce(o.id, d.id), coalesce(o.story_id, d.story_id) FROM ("
        f"SELECT doc_id, count(*) AS shared FROM doc_bands WHERE {clause} "
        "GROUP BY doc_id ORDER BY shared DESC LIMIT ?) AS c JOIN doc_features f ON f.doc_id = c.doc_id "
        f"JOIN documents d {_META} ON d.id = c.doc_id LEFT JOIN documents o {_META} ON o.id = d.duplicate_of "
        "ORDER BY c.shared DESC",
        (*params, limit),
    ).fetchall()
    return [NearCandidate(int(r[0]), bytes(r[1]), int(r[2]), r[3]) for r in rows]


def _story_candidates_sql(
    keys: Sequence[str],
    start: date | None,
    end: date | None,
    limit: int,
    per_key: int,
    min_shared: int,
    fingerprints: bool = True,
) -> tuple[str, list[object]]:
    window, bounds = _window(start, end)
    per_key_sql = f"SELECT doc_id FROM ({_KEY_DOCS.format(columns='doc_id', window=window)})"
    union = " UNION ALL ".join([per_key_sql] * len(keys))
    fingerprint, features = (
        ("f.fingerprint", "JOIN doc_features f ON f.doc_id = m.doc_id ") if fingerprints else ("''", "")
    )
    params: list[object] = []
    for key in keys:
        params += [key, *bounds, per_key]
    sql = (
        f"SELECT d.id, d.story_id, d.published, d.lang, {fingerprint}, m.shared "
        f"FROM (SELECT doc_id, count(*) AS shared FROM ({union}) GROUP BY doc_id HAVING count(*) >= ? "
        f"ORDER BY count(*) DESC, doc_id DESC LIMIT ?) AS m JOIN documents d {_META} ON d.id = m.doc_id "
        f"{features}ORDER BY m.shared DESC, m.doc_id DESC"
    )
    return sql, [*params, min_shared, limit]


# One key's documents in a window, as `story_candidates` takes them: the most recent, then the newest id
# (the primary key's own order, read backwards).
_KEY_DOCS = (
    "SELECT {columns} FROM story_keys WHERE key = ? AND {window} ORDER BY published DESC, doc_id DESC LIMIT ?"
)


def _window(start: date | None, end: date | None) -> tuple[str, list[object]]:
    if start is None or end is None:
        return "published = ''", []
    return "published BETWEEN ? AND ?", [start.isoformat(), end.isoformat()]


def _key_docs(
    conn: sqlite3.Connection, key: str, start: date | None, end: date | None, limit: int
) -> list[KeyDoc]:
    window, bounds = _window(start, end)
    rows = conn.execute(_KEY_DOCS.format(columns="doc_id, published", window=window), (key, *bounds, limit))
    return [KeyDoc(int(r[0]), _to_date(r[1])) for r in rows]


def _story_candidates(
    conn: sqlite3.Connection,
    keys: Sequence[str],
    start: date | None,
    end: date | None,
    limit: int,
    per_key: int,
    min_shared: int,
    fingerprints: bool = True,
) -> list[FeatureRow]:
    if not keys:
        return []
    sql, params = _story_candidates_sql(keys, start, end, limit, per_key, min_shared, fingerprints)
    rows = conn.execute(sql, params).fetchall()
    return [_feature_row(r) for r in rows]


def _feature_row(r: sqlite3.Row) -> FeatureRow:
    return FeatureRow(int(r[0]), r[1], _to_date(r[2]), r[3], r[4], int(r[5]))


def _one(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    return row


def _move_to_bin(conn: sqlite3.Connection, doc_id: int, admin_id: int) -> Document | None:
    row = _one(conn, f"SELECT {_COLUMNS} FROM documents WHERE id = ?", (doc_id,))
    if row is None:
        return None
    fts = _one(conn, "SELECT title, body FROM doc_fts WHERE rowid = ?", (doc_id,))
    features = _one(conn, "SELECT minhash, fingerprint FROM doc_features WHERE doc_id = ?", (doc_id,))
    bands = conn.execute("SELECT band, hash FROM doc_bands WHERE doc_id = ?", (doc_id,)).fetchall()
    keys = conn.execute("SELECT key, published FROM story_keys WHERE doc_id = ?", (doc_id,)).fetchall()
    copies = conn.execute("SELECT id FROM documents WHERE duplicate_of = ?", (doc_id,)).fetchall()
    payload = {
        "document": {key: row[key] for key in row.keys()},  # noqa: SIM118 (sqlite3.Row is no mapping)
        "fts": [fts[0], fts[1]] if fts else None,
        "features": [bytes(features[0]).hex(), features[1]] if features else None,
        "bands": [[r[0], r[1]] for r in bands],
        "story_keys": [[r[0], r[1]] for r in keys],
        # Republications point at the original; the links are put back when it comes back.
        "copies": [r[0] for r in copies],
    }
    conn.execute(
        "INSERT OR REPLACE INTO deleted_documents (doc_id, payload, deleted_at, admin_id) VALUES (?, ?, ?, ?)",
        (doc_id, json.dumps(payload, ensure_ascii=False), _now(), admin_id),
    )
    conn.execute("DELETE FROM doc_fts WHERE rowid = ?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
    return _row_to_document(row)


def _restore_from_bin(conn: sqlite3.Connection, doc_id: int, deleted_after: datetime) -> int | None:
    row = _one(
        conn,
        "SELECT payload FROM deleted_documents WHERE doc_id = ? AND deleted_at >= ?",
        (doc_id, deleted_after.isoformat(timespec="seconds")),
    )
    if row is None:
        return None
    payload = json.loads(row[0])
    doc = payload["document"]
    same = _one(conn, "SELECT id FROM documents WHERE content_hash = ?", (doc["content_hash"],))
    if same is not None:
        raise RestoreConflict(int(same[0]))
    taken = _one(conn, "SELECT 1 FROM documents WHERE id = ?", (doc_id,)) is not None
    original = doc["duplicate_of"]
    if original is not None and _one(conn, "SELECT 1 FROM documents WHERE id = ?", (original,)) is None:
        original = None
    cur = conn.execute(
        "INSERT INTO documents (id, title, text, url, source_name, published, lang, content_hash, "
        "duplicate_of, story_id, hidden, created_at, updated_at, author) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            None if taken else doc_id,
            doc["title"],
            doc["text"],
            doc["url"],
            doc["source_name"],
            doc["published"],
            doc["lang"],
            doc["content_hash"],
            original,
            doc["story_id"],
            doc["hidden"],
            doc["created_at"],
            _now(),
            doc.get("author"),  # a document put in the bin before authors were kept has none
        ),
    )
    new_id = cur.lastrowid
    assert new_id is not None
    if doc["story_id"] in (None, doc_id):
        conn.execute("UPDATE documents SET story_id = ? WHERE id = ?", (new_id, new_id))
    if payload["fts"] is not None:
        conn.execute("INSERT INTO doc_fts (rowid, title, body) VALUES (?, ?, ?)", (new_id, *payload["fts"]))
    if payload["features"] is not None:
        minhash, fingerprint = payload["features"]
        conn.execute(
            "INSERT INTO doc_features (doc_id, minhash, fingerprint) VALUES (?, ?, ?)",
            (new_id, bytes.fromhex(minhash), fingerprint),
        )
    conn.executemany(
        "INSERT OR IGNORE INTO doc_bands (band, hash, doc_id) VALUES (?, ?, ?)",
        [(band, value, new_id) for band, value in payload["bands"]],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO story_keys (key, published, doc_id) VALUES (?, ?, ?)",
        [(key, published, new_id) for key, published in payload["story_keys"]],
    )
    conn.executemany(
        "UPDATE documents SET duplicate_of = ? WHERE id = ? AND duplicate_of IS NULL",
        [(new_id, copy) for copy in payload["copies"]],
    )
    conn.execute("DELETE FROM deleted_documents WHERE doc_id = ?", (doc_id,))
    return new_id
