"""Documents on PostgreSQL: the same contract as storage.documents (SQLite), search in storage.postgres.search."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Literal

from storage.models import (
    CorpusStats,
    Document,
    FeatureRow,
    KeyDoc,
    NearCandidate,
    NewDocument,
    RestoreConflict,
    StoryQuery,
)
from storage.postgres.db import PostgresDatabase
from storage.postgres.fulltext import index_row
from storage.postgres.rows import COLUMNS, now, to_document
from storage.postgres.search import Search

__all__ = ["DocumentRepository"]

_VOCAB = (
    "INSERT INTO vocab (word, freq) SELECT * FROM unnest($1::text[], $2::int[]) "
    "ON CONFLICT (word) DO UPDATE SET freq = vocab.freq + excluded.freq"
)


class DocumentRepository(Search):
    """Documents and their index. The term statistics (document frequencies, totals, the vocabulary)
    are tallied per transaction and written at its end, before COMMIT (`PostgresDatabase.tally`): in
    the ingest's transaction, once per batch rather than once per document, and locked in one order by
    every writer (totals, then terms, then words, each sorted), so concurrent batches cannot deadlock."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.on_commit("index_totals", self._write_totals)
        db.on_commit("doc_terms", self._write_terms)
        db.on_commit("vocab", self._write_words)

    # -- writing --------------------------------------------------------------------------------------

    async def add(self, doc: NewDocument) -> int:
        """Insert a document with its index rows, atomically; inside a transaction in a savepoint, so that
        a refused insert (the same text twice) leaves the transaction usable, as on SQLite."""
        stamp = now()
        async with self.db.savepoint():
            doc_id = int(
                await self.db.fetchval(
                    "INSERT INTO documents (title, text, url, source_name, published, lang, content_hash, "
                    "duplicate_of, story_id, hidden, created_at, updated_at) "
                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,false,$10,$10) RETURNING id",
                    doc.title,
                    doc.text,
                    doc.url,
                    doc.source_name,
                    doc.published,
                    doc.lang,
                    doc.content_hash,
                    doc.duplicate_of,
                    doc.story_id,
                    stamp,
                )
            )
            if doc.story_id is None:
                await self.db.execute("UPDATE documents SET story_id = id WHERE id = $1", doc_id)
            await self._index(doc_id, doc.title_terms, doc.body_terms)
            await self._features(doc_id, doc.minhash, doc.fingerprint, list(enumerate(doc.bands)))
            await self._story_keys(
                doc_id, [(k, doc.published.isoformat() if doc.published else "") for k in doc.story_keys]
            )
            if doc.words:
                self.db.tally("vocab", Counter(doc.words))
        return doc_id

    async def add_many(self, docs: Sequence[NewDocument]) -> list[int | None]:
        """A batch with one statement per table (ids drawn from the sequence first, so that references
        within the batch resolve); if the database refuses any of it, one document at a time, each in its
        own savepoint, so that only the refused ones are lost."""
        if not docs:
            return []
        try:
            async with self.db.savepoint():
                return list(await self._insert_together(docs))
        except Exception:
            pass
        ids: list[int | None] = []
        for doc in docs:
            try:
                ids.append(await self.add(_resolved(doc, ids)))
            except Exception:
                ids.append(None)
        return ids

    async def _insert_together(self, docs: Sequence[NewDocument]) -> list[int]:
        ids = [
            int(r[0])
            for r in await self.db.write(
                "SELECT nextval(pg_get_serial_sequence('documents', 'id')) FROM generate_series(1, $1)",
                len(docs),
            )
        ]
        resolved = [_resolved(doc, ids) for doc in docs]
        stamp = now()
        await self.db.execute(
            "INSERT INTO documents (id, title, text, url, source_name, published, lang, content_hash, "
            "duplicate_of, story_id, hidden, created_at, updated_at) "
            "SELECT i, t, x, u, s, p, l, h, d, st, false, $11, $11 FROM unnest($1::bigint[], $2::text[], "
            "$3::text[], $4::text[], $5::text[], $6::date[], $7::text[], $8::text[], $9::bigint[], "
            "$10::bigint[]) AS r(i, t, x, u, s, p, l, h, d, st)",
            ids,
            [d.title for d in resolved],
            [d.text for d in resolved],
            [d.url for d in resolved],
            [d.source_name for d in resolved],
            [d.published for d in resolved],
            [d.lang for d in resolved],
            [d.content_hash for d in resolved],
            [d.duplicate_of for d in resolved],
            [d.story_id if d.story_id is not None else i for i, d in zip(ids, resolved, strict=True)],
            stamp,
        )
        rows = [index_row(d.title_terms, d.body_terms) for d in resolved]
        await self.db.execute(
            "INSERT INTO doc_index (doc_id, title_terms, body_terms, tsv, length) "
            "SELECT i, t, b, v::tsvector, n FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
            "$5::int[]) AS r(i, t, b, v, n)",
            ids,
            [d.title_terms for d in resolved],
            [d.body_terms for d in resolved],
            [r.tsv for r in rows],
            [r.length for r in rows],
        )
        postings = [(t, i, r.tf[t]) for i, r in zip(ids, rows, strict=True) for t in r.terms]
        if postings:
            await self.db.execute(
                "INSERT INTO postings (term, doc_id, tf) SELECT * FROM unnest($1::text[], $2::bigint[], $3::real[])",
                [t for t, _, _ in postings],
                [i for _, i, _ in postings],
                [f for _, _, f in postings],
            )
        await self.db.execute(
            "INSERT INTO doc_features (doc_id, minhash, fingerprint) "
            "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[])",
            ids,
            [d.minhash for d in resolved],
            [d.fingerprint for d in resolved],
        )
        bands = [(b, h, i) for i, d in zip(ids, resolved, strict=True) for b, h in enumerate(d.bands)]
        if bands:
            await self.db.execute(
                "INSERT INTO doc_bands (band, hash, doc_id) SELECT * FROM unnest($1::int[], $2::bigint[], "
                "$3::bigint[]) ON CONFLICT DO NOTHING",
                [b for b, _, _ in bands],
                [h for _, h, _ in bands],
                [i for _, _, i in bands],
            )
        keys = [
            (k, d.published.isoformat() if d.published else "", i)
            for i, d in zip(ids, resolved, strict=True)
            for k in d.story_keys
        ]
        if keys:
            await self.db.execute(
                "INSERT INTO story_keys (key, published, doc_id) SELECT * FROM unnest($1::text[], $2::text[], "
                "$3::bigint[]) ON CONFLICT DO NOTHING",
                [k for k, _, _ in keys],
                [p for _, p, _ in keys],
                [i for _, _, i in keys],
            )
        terms: Counter[str] = Counter()
        words: Counter[str] = Counter()
        for r, d in zip(rows, resolved, strict=True):
            terms.update(dict.fromkeys(r.terms, 1))
            words.update(d.words)
        self.db.tally("index_totals", {"docs": len(rows), "tokens": sum(r.length for r in rows)})
        self.db.tally("doc_terms", terms)
        if words:
            self.db.tally("vocab", words)
        return ids

    async def _features(
        self, doc_id: int, minhash: bytes, fingerprint: str, bands: list[tuple[int, int]]
    ) -> None:
        await self.db.execute(
            "INSERT INTO doc_features (doc_id, minhash, fingerprint) VALUES ($1, $2, $3)",
            doc_id,
            minhash,
            fingerprint,
        )
        if bands:
            await self.db.execute(
                "INSERT INTO doc_bands (band, hash, doc_id) SELECT b, h, $3 FROM unnest($1::int[], $2::bigint[]) "
                "AS t(b, h) ON CONFLICT DO NOTHING",
                [b for b, _ in bands],
                [h for _, h in bands],
                doc_id,
            )

    async def _story_keys(self, doc_id: int, keys: list[tuple[str, str]]) -> None:
        if keys:
            await self.db.execute(
                "INSERT INTO story_keys (key, published, doc_id) SELECT k, p, $3 "
                "FROM unnest($1::text[], $2::text[]) AS t(k, p) ON CONFLICT DO NOTHING",
                [k for k, _ in keys],
                [p for _, p in keys],
                doc_id,
            )

    async def _index(self, doc_id: int, title_terms: str, body_terms: str) -> None:
        """The document's index rows; its terms and length counted in the transaction's tallies."""
        row = index_row(title_terms, body_terms)
        await self.db.execute(
            "INSERT INTO doc_index (doc_id, title_terms, body_terms, tsv, length) "
            "VALUES ($1, $2, $3, $4::text::tsvector, $5)",
            doc_id,
            title_terms,
            body_terms,
            row.tsv,
            row.length,
        )
        if row.terms:
            await self.db.execute(
                "INSERT INTO postings (term, doc_id, tf) SELECT t, $2, f FROM unnest($1::text[], $3::real[]) "
                "AS u(t, f)",
                list(row.terms),
                doc_id,
                [row.tf[t] for t in row.terms],
            )
        self.db.tally("index_totals", {"docs": 1, "tokens": row.length})
        self.db.tally("doc_terms", dict.fromkeys(row.terms, 1))

    async def _unindex(self, doc_id: int) -> tuple[str, str] | None:
        """Take a document out of the index; its (title, body) terms, or None when it was not in it."""
        found = await self.db.write(
            "DELETE FROM doc_index WHERE doc_id = $1 RETURNING title_terms, body_terms, length", doc_id
        )
        if not found:
            return None
        title_terms, body_terms = found[0]["title_terms"], found[0]["body_terms"]
        terms = list(index_row(title_terms, body_terms).terms)
        if terms:
            await self.db.execute(
                "DELETE FROM postings WHERE term = ANY($1::text[]) AND doc_id = $2", terms, doc_id
            )
        self.db.tally("index_totals", {"docs": -1, "tokens": -int(found[0]["length"])})
        self.db.tally("doc_terms", dict.fromkeys(terms, -1))
        return title_terms, body_terms

    # -- the tallies, written before COMMIT -------------------------------------------------------------

    async def _write_totals(self, counts: Counter[str]) -> None:
        await self.db.execute(
            "UPDATE index_totals SET docs = docs + $1, tokens = tokens + $2", counts["docs"], counts["tokens"]
        )

    async def _write_terms(self, counts: Counter[str]) -> None:
        items = sorted((term, n) for term, n in counts.items() if n)
        if not items:
            return
        await self.db.execute(
            "INSERT INTO doc_terms (term, docs) SELECT * FROM unnest($1::text[], $2::int[]) "
            "ON CONFLICT (term) DO UPDATE SET docs = doc_terms.docs + excluded.docs",
            [t for t, _ in items],
            [n for _, n in items],
        )
        fewer = [t for t, n in items if n < 0]
        if fewer:
            await self.db.execute("DELETE FROM doc_terms WHERE term = ANY($1::text[]) AND docs <= 0", fewer)

    async def _write_words(self, counts: Counter[str]) -> None:
        items = sorted((word, n) for word, n in counts.items() if n)
        if items:
            await self.db.execute(_VOCAB, [w for w, _ in items], [n for _, n in items])

    async def add_vocabulary(self, counts: Mapping[str, int]) -> None:
        if counts:
            async with self.db.savepoint():
                self.db.tally("vocab", counts)

    async def set_hidden(self, doc_id: int, hidden: bool, title_terms: str, body_terms: str) -> bool:
        async with self.db.savepoint():
            changed = await self.db.execute(
                "UPDATE documents SET hidden = $1, updated_at = $2 WHERE id = $3 AND hidden != $1",
                hidden,
                now(),
                doc_id,
            )
            if not changed:
                return False
            if hidden:
                await self._unindex(doc_id)
            else:
                await self._index(doc_id, title_terms, body_terms)
            return True

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
            ("published", published),
            ("source_name", source_name),
            ("url", url),
        ):
            if value is not None:
                params.append(value)
                sets.append(f"{column} = ${len(params)}")
        if not sets:
            return False
        async with self.db.savepoint():
            changed = await self.db.execute(
                f"UPDATE documents SET {', '.join(sets)}, updated_at = ${len(params) + 1} "
                f"WHERE id = ${len(params) + 2}",
                *params,
                now(),
                doc_id,
            )
            if not changed:
                return False
            if title_terms is not None:
                old = await self._unindex(doc_id)
                if old is not None:
                    await self._index(doc_id, title_terms, old[1])
            return True

    # -- reading --------------------------------------------------------------------------------------

    async def get(self, doc_id: int) -> Document | None:
        row = await self.db.fetchrow(f"SELECT {COLUMNS} FROM documents WHERE id = $1", doc_id)
        return to_document(row) if row else None

    async def by_hash(self, content_hash: str) -> Document | None:
        row = await self.db.fetchrow(f"SELECT {COLUMNS} FROM documents WHERE content_hash = $1", content_hash)
        return to_document(row) if row else None

    async def latest(
        self, limit: int, offset: int = 0, include_hidden: bool = False, since: date | None = None
    ) -> list[Document]:
        where = ["true"]
        params: list[object] = []
        if not include_hidden:
            where.append("NOT hidden")
        if since is not None:
            params.append(since)
            where.append(f"published >= ${len(params)}")
        n = len(params)
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM documents WHERE {' AND '.join(where)} "
            f"ORDER BY published DESC NULLS LAST, id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
            *params,
            limit,
            offset,
        )
        return [to_document(r) for r in rows]

    async def count(self, include_hidden: bool = False) -> int:
        return await self.db.int_scalar(
            "SELECT count(*) FROM documents" + ("" if include_hidden else " WHERE NOT hidden")
        )

    async def story_members(self, story_id: int, include_hidden: bool = False) -> list[Document]:
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM documents WHERE story_id = $1"
            + ("" if include_hidden else " AND NOT hidden")
            + " ORDER BY published DESC NULLS LAST, id DESC",
            story_id,
        )
        return [to_document(r) for r in rows]

    async def hidden(self, limit: int = 1000) -> list[Document]:
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM documents WHERE hidden ORDER BY id DESC LIMIT $1", limit
        )
        return [to_document(r) for r in rows]

    async def stats(self) -> CorpusStats:
        total = await self.db.int_scalar("SELECT count(*) FROM documents")
        hidden = await self.db.int_scalar("SELECT count(*) FROM documents WHERE hidden")
        langs = await self.db.fetch("SELECT lang, count(*) FROM documents GROUP BY lang ORDER BY 2 DESC")
        months = await self.db.fetch(
            "SELECT coalesce(to_char(published, 'YYYY-MM'), 'undated'), count(*) FROM documents "
            "GROUP BY 1 ORDER BY 1"
        )
        sizes = await self.db.fetchrow(
            "SELECT pg_total_relation_size('doc_index') + pg_total_relation_size('postings') "
            "+ pg_total_relation_size('doc_terms'), "
            "pg_database_size(current_database()), (SELECT count(*) FROM doc_terms)"
        )
        assert sizes is not None
        return CorpusStats(
            documents=total,
            hidden=hidden,
            by_language={r[0]: int(r[1]) for r in langs},
            by_month={r[0]: int(r[1]) for r in months},
            index_bytes=int(sizes[0]),
            database_bytes=int(sizes[1]),
            terms=int(sizes[2]),
        )

    # -- duplicates and stories -----------------------------------------------------------------------

    async def band_candidates(self, bands: Sequence[int], limit: int = 50) -> list[int]:
        if not bands:
            return []
        rows = await self.db.fetch(
            "SELECT b.doc_id, count(*) AS shared FROM doc_bands b "
            "JOIN unnest($1::int[], $2::bigint[]) AS q(band, hash) ON b.band = q.band AND b.hash = q.hash "
            "GROUP BY b.doc_id ORDER BY shared DESC LIMIT $3",
            list(range(len(bands))),
            list(bands),
            limit,
        )
        return [int(r[0]) for r in rows]

    async def by_hashes(self, hashes: Sequence[str]) -> dict[str, Document]:
        if not hashes:
            return {}
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM documents WHERE content_hash = ANY($1::text[])", list(hashes)
        )
        return {r["content_hash"]: to_document(r) for r in rows}

    async def near_candidates(
        self, bands: Sequence[Sequence[int]], limit: int = 50
    ) -> list[list[NearCandidate]]:
        """As on SQLite, one statement for the whole batch: the band matches of every new document."""
        if not bands:
            return []
        flat = [(n, i, h) for n, doc in enumerate(bands) for i, h in enumerate(doc)]
        rows = await self.db.fetch(
            "SELECT c.n, f.doc_id, f.minhash, coalesce(o.id, d.id), coalesce(o.story_id, d.story_id) FROM ("
            "SELECT q.n, b.doc_id, count(*) AS shared, row_number() OVER (PARTITION BY q.n "
            "ORDER BY count(*) DESC) AS r FROM unnest($1::int[], $2::int[], $3::bigint[]) AS q(n, band, hash) "
            "JOIN doc_bands b ON b.band = q.band AND b.hash = q.hash GROUP BY q.n, b.doc_id) AS c "
            "JOIN doc_features f ON f.doc_id = c.doc_id JOIN documents d ON d.id = c.doc_id "
            "LEFT JOIN documents o ON o.id = d.duplicate_of WHERE c.r <= $4 ORDER BY c.n, c.shared DESC",
            [n for n, _, _ in flat],
            [i for _, i, _ in flat],
            [h for _, _, h in flat],
            limit,
        )
        out: list[list[NearCandidate]] = [[] for _ in bands]
        for r in rows:
            out[int(r[0])].append(NearCandidate(int(r[1]), bytes(r[2]), int(r[3]), r[4]))
        return out

    async def story_candidates_many(
        self,
        queries: Sequence[StoryQuery],
        limit: int,
        per_key: int = 25,
        min_shared: int = 1,
        fingerprints: bool = True,
    ) -> list[list[FeatureRow]]:
        # Fingerprints come along either way: on a server the join costs little beside the round trip.
        return [
            await self.story_candidates(q.keys, q.start, q.end, q.limit or limit, per_key, min_shared)
            for q in queries
        ]

    async def fingerprints(self, ids: Sequence[int]) -> dict[int, str]:
        return {
            doc_id: str(value) for doc_id, value in (await self._feature_column(ids, "fingerprint")).items()
        }

    async def story_key_docs(
        self, queries: Sequence[StoryQuery], per_key: int = 25
    ) -> list[list[list[KeyDoc]]]:
        """As on SQLite: each key's documents in the window, most recent first, then the newest id."""
        out: list[list[list[KeyDoc]]] = []
        for q in queries:
            rows = await self.db.fetch(
                "SELECT q.i, c.doc_id, c.published FROM unnest($1::text[]) WITH ORDINALITY AS q(key, i) "
                "CROSS JOIN LATERAL (SELECT k.doc_id, k.published FROM story_keys k WHERE k.key = q.key "
                "AND k.published BETWEEN $2 AND $3 ORDER BY k.published DESC, k.doc_id DESC LIMIT $4) AS c "
                "ORDER BY q.i, c.published DESC, c.doc_id DESC",
                list(q.keys),
                *_story_bounds(q.start, q.end),
                per_key,
            )
            lists: list[list[KeyDoc]] = [[] for _ in q.keys]
            for r in rows:
                lists[int(r[0]) - 1].append(KeyDoc(int(r[1]), date.fromisoformat(r[2]) if r[2] else None))
            out.append(lists)
        return out

    async def minhashes(self, ids: Sequence[int]) -> dict[int, bytes]:
        return {
            doc_id: bytes(value) for doc_id, value in (await self._feature_column(ids, "minhash")).items()
        }

    async def _feature_column(
        self, ids: Sequence[int], column: Literal["minhash", "fingerprint"]
    ) -> dict[int, Any]:
        if not ids:
            return {}
        rows = await self.db.fetch(
            f"SELECT doc_id, {column} FROM doc_features WHERE doc_id = ANY($1::bigint[])", list(ids)
        )
        return {int(r[0]): r[1] for r in rows}

    async def fingerprint(self, doc_id: int) -> dict[str, float]:
        value = await self.db.fetchval("SELECT fingerprint FROM doc_features WHERE doc_id = $1", doc_id)
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
        """As on SQLite: each key contributes at most `per_key` documents of the window, most recent first."""
        if not keys:
            return []
        rows = await self.db.fetch(
            "SELECT d.id, d.story_id, d.published, d.lang, f.fingerprint, m.shared FROM documents d "
            "JOIN doc_features f ON f.doc_id = d.id JOIN ("
            "SELECT c.doc_id, count(*) AS shared FROM unnest($1::text[]) AS q(key) CROSS JOIN LATERAL ("
            "SELECT k.doc_id FROM story_keys k WHERE k.key = q.key AND k.published BETWEEN $2 AND $3 "
            "ORDER BY k.published DESC, k.doc_id DESC LIMIT $4) AS c "
            "GROUP BY c.doc_id HAVING count(*) >= $5 ORDER BY count(*) DESC, c.doc_id DESC LIMIT $6"
            ") AS m ON m.doc_id = d.id ORDER BY m.shared DESC, d.id DESC",
            list(keys),
            *_story_bounds(start, end),
            per_key,
            min_shared,
            limit,
        )
        return [FeatureRow(int(r[0]), r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    # -- the bin ----------------------------------------------------------------------------------------

    async def move_to_bin(self, doc_id: int, admin_id: int) -> Document | None:
        async with self.db.savepoint():
            row = await self.db.fetchrow(f"SELECT {COLUMNS} FROM documents WHERE id = $1 FOR UPDATE", doc_id)
            if row is None:
                return None
            doc = to_document(row)
            features = await self.db.fetchrow(
                "SELECT minhash, fingerprint FROM doc_features WHERE doc_id = $1", doc_id
            )
            bands = await self.db.fetch("SELECT band, hash FROM doc_bands WHERE doc_id = $1", doc_id)
            keys = await self.db.fetch("SELECT key, published FROM story_keys WHERE doc_id = $1", doc_id)
            copies = await self.db.fetch("SELECT id FROM documents WHERE duplicate_of = $1", doc_id)
            fts = await self._unindex(doc_id)
            payload = {
                "document": _to_json(doc),
                "fts": list(fts) if fts else None,
                "features": [bytes(features[0]).hex(), features[1]] if features else None,
                "bands": [[r[0], r[1]] for r in bands],
                "story_keys": [[r[0], r[1]] for r in keys],
                "copies": [r[0] for r in copies],
            }
            await self.db.execute(
                "INSERT INTO deleted_documents (doc_id, payload, deleted_at, admin_id) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (doc_id) DO UPDATE SET payload = excluded.payload, deleted_at = excluded.deleted_at, "
                "admin_id = excluded.admin_id",
                doc_id,
                json.dumps(payload, ensure_ascii=False),
                now(),
                admin_id,
            )
            await self.db.execute("DELETE FROM documents WHERE id = $1", doc_id)
            return doc

    async def restore_from_bin(self, doc_id: int, deleted_after: datetime) -> int | None:
        async with self.db.savepoint():
            raw = await self.db.fetchval(
                "SELECT payload FROM deleted_documents WHERE doc_id = $1 AND deleted_at >= $2",
                doc_id,
                deleted_after.replace(microsecond=0),
            )
            if raw is None:
                return None
            payload = json.loads(raw)
            doc = payload["document"]
            same = await self.db.fetchval(
                "SELECT id FROM documents WHERE content_hash = $1", doc["content_hash"]
            )
            if same is not None:
                raise RestoreConflict(int(same))
            taken = await self.db.fetchval("SELECT 1 FROM documents WHERE id = $1", doc_id) is not None
            original = doc["duplicate_of"]
            if (
                original is not None
                and await self.db.fetchval("SELECT 1 FROM documents WHERE id = $1", original) is None
            ):
                original = None
            values = (
                doc["title"],
                doc["text"],
                doc["url"],
                doc["source_name"],
                date.fromisoformat(doc["published"]) if doc["published"] else None,
                doc["lang"],
                doc["content_hash"],
                original,
                doc["story_id"],
                doc["hidden"],
                datetime.fromisoformat(doc["created_at"]),
                now(),
                doc.get("author"),  # a document put in the bin before authors were kept has none
            )
            columns = (
                "title, text, url, source_name, published, lang, content_hash, duplicate_of, story_id, "
                "hidden, created_at, updated_at, author"
            )
            marks = ",".join(f"${i}" for i in range(1, 14))
            if taken:
                new_id = int(
                    await self.db.fetchval(
                        f"INSERT INTO documents ({columns}) VALUES ({marks}) RETURNING id", *values
                    )
                )
            else:
                new_id = int(
                    await self.db.fetchval(
                        f"INSERT INTO documents (id, {columns}) VALUES ($14, {marks}) RETURNING id",
                        *values,
                        doc_id,
                    )
                )
            if doc["story_id"] in (None, doc_id):
                await self.db.execute("UPDATE documents SET story_id = $1 WHERE id = $1", new_id)
            if payload["fts"] is not None:
                await self._index(new_id, *payload["fts"])
            if payload["features"] is not None:
                minhash, fingerprint = payload["features"]
                bands = [(int(b), int(h)) for b, h in payload["bands"]]
                await self._features(new_id, bytes.fromhex(minhash), fingerprint, bands)
            await self._story_keys(new_id, [(k, p) for k, p in payload["story_keys"]])
            if payload["copies"]:
                await self.db.execute(
                    "UPDATE documents SET duplicate_of = $1 WHERE id = ANY($2::bigint[]) AND duplicate_of IS NULL",
                    new_id,
                    payload["copies"],
                )
            await self.db.execute("DELETE FROM deleted_documents WHERE doc_id = $1", doc_id)
            return new_id

    async def last_in_bin(self, admin_id: int, deleted_after: datetime) -> Document | None:
        """The document `admin_id` deleted last, as it was, if deleted after `deleted_after` and still in
        the bin (what their undo would bring back)."""
        raw = await self.db.fetchval(
            "SELECT payload FROM deleted_documents WHERE admin_id = $1 AND deleted_at >= $2 "
            "ORDER BY deleted_at DESC, doc_id DESC LIMIT 1",
            admin_id,
            deleted_after.replace(microsecond=0),
        )
        return _from_json(json.loads(raw)["document"]) if raw is not None else None

    async def get_many(self, ids: Sequence[int]) -> list[Document]:
        """The documents with these ids, in the order given (missing ones left out)."""
        if not ids:
            return []
        rows = await self.db.fetch(f"SELECT {COLUMNS} FROM documents WHERE id = ANY($1::bigint[])", list(ids))
        by_id = {int(r["id"]): to_document(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    # -- digests: what is new after a subscriber's cursor ------------------------------------------------

    async def latest_visible_id(self) -> int:
        return await self.db.int_scalar("SELECT coalesce(max(id), 0) FROM documents WHERE NOT hidden")

    async def cursor_before_latest(self, count: int) -> int:
        return await self.db.int_scalar(
            "SELECT coalesce((SELECT id FROM documents WHERE NOT hidden ORDER BY id DESC LIMIT 1 OFFSET $1), 0)",
            max(0, count),
        )

    async def visible_after(self, cursor: int, limit: int) -> list[Document]:
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM documents WHERE NOT hidden AND id > $1 ORDER BY id DESC LIMIT $2",
            cursor,
            limit,
        )
        return [to_document(r) for r in rows]


def _to_json(doc: Document) -> dict[str, object]:
    """A document as the bin keeps it (JSON), every field, so that it reads back equal."""
    return {
        "id": doc.id,
        "title": doc.title,
        "text": doc.text,
        "url": doc.url,
        "source_name": doc.source_name,
        "published": doc.published.isoformat() if doc.published else None,
        "lang": doc.lang,
        "content_hash": doc.content_hash,
        "duplicate_of": doc.duplicate_of,
        "story_id": doc.story_id,
        "hidden": doc.hidden,
        "created_at": doc.created_at.isoformat(),
        "updated_at": doc.updated_at.isoformat(),
        "author": doc.author,
    }


def _from_json(doc: dict[str, Any]) -> Document:
    return Document(
        id=doc["id"],
        title=doc["title"],
        text=doc["text"],
        url=doc["url"],
        source_name=doc["source_name"],
        published=date.fromisoformat(doc["published"]) if doc["published"] else None,
        lang=doc["lang"],
        content_hash=doc["content_hash"],
        duplicate_of=doc["duplicate_of"],
        story_id=doc["story_id"],
        hidden=bool(doc["hidden"]),
        created_at=datetime.fromisoformat(doc["created_at"]),
        updated_at=datetime.fromisoformat(doc["updated_at"]),
        author=doc.get("author"),
    )


def _resolved(doc: NewDocument, ids: Sequence[int | None]) -> NewDocument:
    """`doc` with its references to earlier documents of the batch turned into their ids."""
    if doc.story_of is None and doc.copy_of is None:
        return doc
    story_id = ids[doc.story_of] if doc.story_of is not None else doc.story_id
    duplicate_of = ids[doc.copy_of] if doc.copy_of is not None else doc.duplicate_of
    return replace(doc, story_id=story_id, duplicate_of=duplicate_of, story_of=None, copy_of=None)


def _story_bounds(start: date | None, end: date | None) -> list[str]:
    # An undated text ('' as on SQLite) is compared with undated ones: the window '' .. ''.
    return ["", ""] if start is None or end is None else [start.isoformat(), end.isoformat()]
