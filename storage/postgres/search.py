"""Search over `doc_index` (see storage.postgres.fulltext): matching, BM25 ranking, term statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

from storage.documents import BY_DATE_WINDOW
from storage.models import Document, TermQuery
from storage.postgres.db import PostgresDatabase
from storage.postgres.fulltext import K1, B, Compiled, Phrase, compile_query
from storage.postgres.rows import to_document

_DOC_COLUMNS = (
    "d.id, d.title, d.text, d.url, d.source_name, d.published, d.lang, d.content_hash, d.duplicate_of, "
    "d.story_id, d.hidden, d.created_at, d.updated_at"
)


class _Params:
    """Numbered parameters of one statement ($1 is the tsquery)."""

    def __init__(self, *first: object) -> None:
        self.values: list[object] = list(first)

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


class Search:
    db: PostgresDatabase

    async def _statistics(self, phrases: Sequence[Phrase]) -> tuple[list[float], float, list[list[str]]]:
        """BM25's IDF of each phrase (FTS5's formula, floored at 1e-6), the average document length, and the
        terms each prefix stands for (one query)."""
        params = _Params()
        columns = []
        for phrase in phrases:
            if len(phrase.tokens) == 1 and not phrase.prefix:
                columns.append(
                    f"(SELECT coalesce(max(docs), 0) FROM doc_terms WHERE term = {params.add(phrase.tokens[0])})"
                )
            else:
                columns.append(
                    f"(SELECT count(*) FROM doc_index WHERE tsv @@ {params.add(phrase.tsquery())}::text::tsquery)"
                )
            if len(phrase.tokens) == 1 and phrase.prefix:
                start = params.add(phrase.tokens[0])
                columns.append(
                    f"array(SELECT term FROM doc_terms WHERE term >= {start} AND term < {start} || '\uffff')"
                )
            else:
                columns.append("NULL::text[]")
        rows = await self.db.fetch_indexed(
            f"SELECT docs, tokens{''.join(', ' + c for c in columns)} FROM index_totals", *params.values
        )
        row = rows[0]
        n, tokens = int(row[0]), int(row[1])
        idf, expanded = [], []
        for k in range(len(phrases)):
            hit = int(row[2 + 2 * k])
            value = math.log((n - hit + 0.5) / (hit + 0.5)) if n else 0.0
            idf.append(value if value > 0 else 1e-6)
            expanded.append(list(row[3 + 2 * k] or []))
        return idf, (tokens / n if n else 1.0) or 1.0, expanded

    async def _ranked(self, compiled: Compiled, params: _Params) -> str:
        """A query of (doc_id, score) for every match: FTS5's bm25(4.0, 1.0), the frequencies read from
        `postings` by term (a phrase of several terms counts as often as its rarest term occurs)."""
        idf, avgdl, expanded = await self._statistics(compiled.phrases)
        terms: set[str] = set()
        aggregates: list[str] = []
        frequencies: list[str] = []
        phrase_ctes: list[str] = []
        joins: list[str] = []
        for k, phrase in enumerate(compiled.phrases):
            if len(phrase.tokens) == 1:
                wanted = expanded[k] if phrase.prefix else [phrase.tokens[0]]
                terms.update(wanted)
                aggregates.append(f"sum(tf) FILTER (WHERE term = ANY({params.add(wanted)}::text[])) AS f{k}")
                frequencies.append(f"coalesce(g.f{k}, 0)")
                continue
            exact = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
            terms.update(exact)
            parts = []
            for j, token in enumerate(exact):
                aggregates.append(f"max(tf) FILTER (WHERE term = {params.add(token)}) AS f{k}_{j}")
                parts.append(f"coalesce(g.f{k}_{j}, 0)")
            phrase_ctes.append(
                f"ph{k} AS (SELECT doc_id FROM doc_index WHERE doc_id IN (SELECT doc_id FROM m) "
                f"AND tsv @@ {params.add(phrase.tsquery())}::text::tsquery)"
            )
            joins.append(f"LEFT JOIN ph{k} ON ph{k}.doc_id = m.doc_id")
            frequencies.append(f"(CASE WHEN ph{k}.doc_id IS NULL THEN 0 ELSE least({', '.join(parts)}) END)")
        norm = f"({K1} * (1 - {B} + {B} * m.length / {params.add(avgdl)}::float8))"
        score = " + ".join(
            f"{params.add(weight)}::float8 * ({f} * {K1 + 1}) / ({f} + {norm})"
            for f, weight in zip(frequencies, idf, strict=True)
        )
        ctes = [
            "m AS MATERIALIZED (SELECT doc_id, length FROM doc_index WHERE tsv @@ $1::text::tsquery)",
            "g AS (SELECT doc_id, " + ", ".join(aggregates) + " FROM postings "
            f"WHERE term = ANY({params.add(sorted(terms))}::text[]) AND doc_id IN (SELECT doc_id FROM m) "
            "GROUP BY doc_id)",
            *phrase_ctes,
        ]
        return (
            f"WITH {', '.join(ctes)} SELECT m.doc_id, ({score})::float8 AS score FROM m "
            f"LEFT JOIN g ON g.doc_id = m.doc_id {' '.join(joins)}"
        )

    async def search_documents(
        self, query: TermQuery, limit: int, offset: int = 0, by_recency: bool = False, by_date: bool = False
    ) -> list[tuple[Document, float]]:
        """As on SQLite: best first by BM25, or newest first by id (`by_recency`) or by date (`by_date`)."""
        compiled = compile_query(query)
        if compiled is None:
            return []
        params = _Params(compiled.tsquery)
        if by_date:
            # As on SQLite: the newest-saved matches (a window of them), ordered by publication date.
            window = max(BY_DATE_WINDOW, 4 * (offset + limit))
            rows = await self.db.fetch_indexed(
                f"SELECT {_DOC_COLUMNS}, 0.0::float8 AS score FROM (SELECT doc_id FROM doc_index "
                f"WHERE tsv @@ $1::text::tsquery ORDER BY doc_id DESC LIMIT {params.add(window)}) AS m "
                "JOIN documents d ON d.id = m.doc_id ORDER BY d.published DESC NULLS LAST, d.id DESC "
                f"LIMIT {params.add(limit)} OFFSET {params.add(offset)}",
                *params.values,
            )
            return [(to_document(r), 0.0) for r in rows]
        if by_recency:
            ranked = "SELECT doc_id, 0.0::float8 AS score FROM doc_index WHERE tsv @@ $1::text::tsquery"
            order = "doc_id DESC"
        else:
            ranked = await self._ranked(compiled, params)
            order = "score DESC, doc_id DESC"
        rows = await self.db.fetch_indexed(
            f"SELECT {_DOC_COLUMNS}, r.score FROM ({ranked} ORDER BY {order} LIMIT {params.add(limit)} "
            f"OFFSET {params.add(offset)}) AS r JOIN documents d ON d.id = r.doc_id "
            f"ORDER BY r.{order.replace(', doc_id', ', r.doc_id')}",
            *params.values,
        )
        return [(to_document(r), float(r["score"])) for r in rows]

    async def ranked_ids(self, query: TermQuery, limit: int) -> list[tuple[int, float, str]]:
        """(id, BM25 score, language) of the best `limit` matches, best first, without their texts."""
        compiled = compile_query(query)
        if compiled is None:
            return []
        params = _Params(compiled.tsquery)
        ranked = await self._ranked(compiled, params)
        rows = await self.db.fetch_indexed(
            f"SELECT r.doc_id, r.score, d.lang FROM ({ranked} ORDER BY score DESC, doc_id DESC "
            f"LIMIT {params.add(limit)}) AS r JOIN documents d ON d.id = r.doc_id ORDER BY r.score DESC, r.doc_id DESC",
            *params.values,
        )
        return [(int(r[0]), float(r[1]), str(r[2])) for r in rows]

    async def index_terms(self, ids: Sequence[int]) -> dict[int, str]:
        """The indexed terms of these (visible) documents, title then body, as they were given."""
        if not ids:
            return {}
        rows = await self.db.fetch(
            "SELECT doc_id, title_terms, body_terms FROM doc_index WHERE doc_id = ANY($1::bigint[])",
            list(ids),
        )
        return {int(r[0]): f"{r[1]} {r[2]}" for r in rows}

    async def count_matches(self, query: TermQuery, cap: int) -> int:
        compiled = compile_query(query)
        if compiled is None:
            return 0
        rows = await self.db.fetch_indexed(
            "SELECT count(*) FROM (SELECT 1 FROM doc_index WHERE tsv @@ $1::text::tsquery LIMIT $2) AS m",
            compiled.tsquery,
            cap,
        )
        return int(rows[0][0])

    async def matching_among(self, query: TermQuery, ids: Sequence[int]) -> set[int]:
        compiled = compile_query(query)
        if compiled is None or not ids:
            return set()
        rows = await self.db.fetch_indexed(
            "SELECT doc_id FROM doc_index WHERE doc_id = ANY($2::bigint[]) AND tsv @@ $1::text::tsquery",
            compiled.tsquery,
            list(ids),
        )
        return {int(r[0]) for r in rows}

    async def prefix_freq(self, prefix: str, limit: int = 50) -> int:
        return await self.db.int_scalar(
            "SELECT sum(docs) FROM (SELECT docs FROM doc_terms WHERE term >= $1 AND term < $1 || '\uffff' "
            "ORDER BY term LIMIT $2) AS t",
            prefix,
            limit,
        )

    async def vocabulary(self) -> list[tuple[str, int]]:
        rows = await self.db.fetch("SELECT word, freq FROM vocab")
        return [(r[0], int(r[1])) for r in rows]

    async def term_frequencies(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT term, docs FROM doc_terms")
        return {r[0]: int(r[1]) for r in rows}

    async def indexed_count(self) -> int:
        return await self.db.int_scalar("SELECT docs FROM index_totals")
