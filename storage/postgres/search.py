"""Search over `doc_index` (see storage.postgres.fulltext): matching, BM25 ranking, term statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def _frequency(phrase: Phrase, params: _Params) -> str:
    """SQL for a phrase's weighted frequency in the document `i` (FTS5's per-phrase `aFreq`)."""
    if len(phrase.tokens) == 1 and not phrase.prefix:
        return f"coalesce((i.tf ->> {params.add(phrase.tokens[0])})::float8, 0)"
    if len(phrase.tokens) == 1:
        return (
            "(SELECT coalesce(sum(value::float8), 0) FROM jsonb_each_text(i.tf) "
            f"WHERE starts_with(key, {params.add(phrase.tokens[0])}))"
        )
    whole = params.add(phrase.tsquery())
    exact = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
    rarest = ", ".join(f"coalesce((i.tf ->> {params.add(t)})::float8, 0)" for t in exact)
    return f"(CASE WHEN i.tsv @@ {whole}::text::tsquery THEN least({rarest}) ELSE 0 END)"


class Search:
    db: PostgresDatabase

    async def _idf(self, phrases: Sequence[Phrase]) -> tuple[list[float], float]:
        """BM25's IDF of each phrase (FTS5's formula, floored at 1e-6) and the average document length."""
        params = _Params()
        hits = []
        for phrase in phrases:
            if len(phrase.tokens) == 1 and not phrase.prefix:
                hits.append(
                    f"(SELECT coalesce(max(docs), 0) FROM doc_terms WHERE term = {params.add(phrase.tokens[0])})"
                )
            else:
                hits.append(
                    f"(SELECT count(*) FROM doc_index WHERE tsv @@ {params.add(phrase.tsquery())}::text::tsquery)"
                )
        row = await self.db.fetchrow(
            f"SELECT docs, tokens{''.join(', ' + h for h in hits)} FROM index_totals", *params.values
        )
        assert row is not None
        n, tokens = int(row[0]), int(row[1])
        idf = []
        for hit in row[2:]:
            value = math.log((n - int(hit) + 0.5) / (int(hit) + 0.5)) if n else 0.0
            idf.append(value if value > 0 else 1e-6)
        return idf, (tokens / n if n else 1.0) or 1.0

    async def _bm25(self, compiled: Compiled, params: _Params) -> str:
        idf, avgdl = await self._idf(compiled.phrases)
        norm = f"({K1} * (1 - {B} + {B} * i.length / {params.add(avgdl)}::float8))"
        terms = []
        for phrase, weight in zip(compiled.phrases, idf, strict=True):
            f = _frequency(phrase, params)
            terms.append(f"{params.add(weight)}::float8 * ({f} * {K1 + 1}) / ({f} + {norm})")
        return " + ".join(terms) or "0.0"

    async def search_documents(
        self, query: TermQuery, limit: int, offset: int = 0, by_recency: bool = False, by_date: bool = False
    ) -> list[tuple[Document, float]]:
        """As on SQLite: best first by BM25, or newest first by id (`by_recency`) or by date (`by_date`)."""
        compiled = compile_query(query)
        if compiled is None:
            return []
        params = _Params(compiled.tsquery)
        if by_date:
            rows = await self.db.fetch(
                f"SELECT {_DOC_COLUMNS}, 0.0::float8 AS score FROM documents d "
                "JOIN doc_index i ON i.doc_id = d.id WHERE i.tsv @@ $1::text::tsquery "
                f"ORDER BY d.published DESC NULLS LAST, d.id DESC LIMIT {params.add(limit)} OFFSET {params.add(offset)}",
                *params.values,
            )
            return [(to_document(r), 0.0) for r in rows]
        score = "0.0::float8" if by_recency else await self._bm25(compiled, params)
        order = "doc_id DESC" if by_recency else "score DESC, doc_id DESC"
        rows = await self.db.fetch(
            f"SELECT {_DOC_COLUMNS}, m.score FROM (SELECT i.doc_id, {score} AS score FROM doc_index i "
            f"WHERE i.tsv @@ $1::text::tsquery ORDER BY {order} LIMIT {params.add(limit)} OFFSET {params.add(offset)}"
            f") AS m JOIN documents d ON d.id = m.doc_id ORDER BY m.{order.replace(', doc_id', ', m.doc_id')}",
            *params.values,
        )
        return [(to_document(r), float(r["score"])) for r in rows]

    async def ranked_ids(self, query: TermQuery, limit: int) -> list[tuple[int, float, str]]:
        """(id, BM25 score, language) of the best `limit` matches, best first, without their texts."""
        compiled = compile_query(query)
        if compiled is None:
            return []
        params = _Params(compiled.tsquery)
        score = await self._bm25(compiled, params)
        rows = await self.db.fetch(
            f"SELECT m.doc_id, m.score, d.lang FROM (SELECT i.doc_id, {score} AS score FROM doc_index i "
            f"WHERE i.tsv @@ $1::text::tsquery ORDER BY score DESC, i.doc_id DESC LIMIT {params.add(limit)}"
            ") AS m JOIN documents d ON d.id = m.doc_id ORDER BY m.score DESC, m.doc_id DESC",
            *params.values,
        )
        return [(int(r[0]), float(r[1]), str(r[2])) for r in rows]

    async def count_matches(self, query: TermQuery, cap: int) -> int:
        compiled = compile_query(query)
        if compiled is None:
            return 0
        return await self.db.int_scalar(
            "SELECT count(*) FROM (SELECT 1 FROM doc_index WHERE tsv @@ $1::text::tsquery LIMIT $2) AS m",
            compiled.tsquery,
            cap,
        )

    async def matching_among(self, query: TermQuery, ids: Sequence[int]) -> set[int]:
        compiled = compile_query(query)
        if compiled is None or not ids:
            return set()
        rows = await self.db.fetch(
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
