"""Search over `doc_index` (see storage.postgres.fulltext): matching, BM25 ranking, term statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

from storage.documents import BY_DATE_WINDOW
from storage.models import Document, Ranking, TermQuery
from storage.postgres.db import PostgresDatabase
from storage.postgres.fulltext import K1, B, Compiled, Phrase, compile_query, tokens
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
        idf, avgdl, expanded, _ = await self._frequencies(phrases)
        return idf, avgdl, expanded

    async def _frequencies(
        self, phrases: Sequence[Phrase]
    ) -> tuple[list[float], float, list[list[str]], list[int]]:
        """BM25's IDF of each phrase (FTS5's formula, floored at 1e-6), the average document length, the
        terms each prefix stands for, and how many documents hold each phrase (one query)."""
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
        sql = f"SELECT docs, tokens{''.join(', ' + c for c in columns)} FROM index_totals"
        single = all(len(p.tokens) == 1 and not p.prefix for p in phrases)
        # Frequencies of single terms are read by key: no tsvector is tested, no plan needs forbidding.
        rows = await (
            self.db.fetch(sql, *params.values) if single else self.db.fetch_indexed(sql, *params.values)
        )
        row = rows[0]
        n, tokens = int(row[0]), int(row[1])
        idf, expanded, hits = [], [], []
        for k in range(len(phrases)):
            hit = int(row[2 + 2 * k])
            value = math.log((n - hit + 0.5) / (hit + 0.5)) if n else 0.0
            idf.append(value if value > 0 else 1e-6)
            expanded.append(list(row[3 + 2 * k] or []))
            hits.append(hit)
        return idf, (tokens / n if n else 1.0) or 1.0, expanded, hits

    async def _window_by_postings(
        self, compiled: Compiled, clauses: list[list[str]], excluded: list[str], limit: int, window: int
    ) -> Ranking:
        """The newest `window` matches of a query of single terms, ranked, read from `postings` alone.

        The rarest word's postings are walked newest first (an index scan that stops at the window); each
        document is checked for the other words and the excluded ones by key, and scored from the postings
        of its terms: no tsvector is unpacked and the work is bounded by the window, however common the
        words. The same matches and the same BM25 as the index would give."""
        idf, avgdl, _, hits = await self._frequencies(compiled.phrases)
        required = [p.tokens[0] for p in compiled.phrases[: sum(len(c) for c in clauses)]]
        lead = _rarest(clauses, hits)
        if lead is None:
            return Ranking([], 0)
        params = _Params()
        newest = _newest_sql(clauses, excluded, lead, params, window)
        frequencies = [
            f"coalesce((SELECT tf FROM postings WHERE term = {params.add(t)} AND doc_id = m.doc_id), 0)"
            for t in required
        ]
        norm = f"({K1} * (1 - {B} + {B} * m.length / {params.add(avgdl)}::float8))"
        score = " + ".join(
            f"{params.add(weight)}::float8 * ({f} * {K1 + 1}) / ({f} + {norm})"
            for f, weight in zip(frequencies, idf, strict=False)
        )
        rows = await self.db.fetch(
            f"WITH w AS MATERIALIZED ({newest}), "
            "m AS (SELECT w.doc_id, i.length FROM w JOIN doc_index i ON i.doc_id = w.doc_id) "
            f"SELECT r.doc_id, r.score, d.lang, (SELECT count(*) FROM w) FROM (SELECT m.doc_id, ({score})::float8 "
            f"AS score FROM m ORDER BY score DESC, m.doc_id DESC LIMIT {params.add(limit)}) AS r "
            "JOIN documents d ON d.id = r.doc_id ORDER BY r.score DESC, r.doc_id DESC",
            *params.values,
        )
        found = [(int(r[0]), float(r[1]), str(r[2])) for r in rows]
        matched = int(rows[0][3]) if rows else 0
        return Ranking(found, matched, bounded=matched >= window)

    async def _ranked(self, compiled: Compiled, params: _Params, window: int = 0) -> str:
        """A query of (doc_id, score, n) for every match (or the newest `window` of them; n: how many were
        ranked): FTS5's bm25(4.0, 1.0), the frequencies read from `postings` by term (a phrase of several
        terms counts as often as its rarest term occurs)."""
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
        matches = "SELECT doc_id, length FROM doc_index WHERE tsv @@ $1::text::tsquery"
        # Every match through the GIN index first: asked for the newest few directly, the planner walks the
        # documents newest first unpacking each one's tsvector, which for a rare phrase is all of them.
        ctes = [
            f"a AS MATERIALIZED ({matches}), m AS MATERIALIZED (SELECT doc_id, length FROM a "
            f"ORDER BY doc_id DESC LIMIT {params.add(window)})"
            if window
            else f"m AS MATERIALIZED ({matches})",
            "g AS (SELECT doc_id, " + ", ".join(aggregates) + " FROM postings "
            f"WHERE term = ANY({params.add(sorted(terms))}::text[]) AND doc_id IN (SELECT doc_id FROM m) "
            "GROUP BY doc_id)",
            *phrase_ctes,
        ]
        return (
            f"WITH {', '.join(ctes)} SELECT m.doc_id, ({score})::float8 AS score, "
            "(SELECT count(*) FROM m) AS n FROM m "
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
        simple = _single_terms(query) if by_date else None
        if simple is not None:
            window = max(BY_DATE_WINDOW, 4 * (offset + limit))
            lead = _rarest(simple[0], (await self._frequencies(compiled.phrases))[3])
            if lead is None:
                return []
            params = _Params()
            newest = _newest_sql(simple[0], simple[1], lead, params, window)
            rows = await self.db.fetch(
                f"SELECT {_DOC_COLUMNS}, 0.0::float8 AS score FROM ({newest}) AS m JOIN documents d ON d.id = m.doc_id "
                f"ORDER BY d.published DESC NULLS LAST, d.id DESC LIMIT {params.add(limit)} OFFSET {params.add(offset)}",
                *params.values,
            )
            return [(to_document(r), 0.0) for r in rows]
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

    async def ranked(
        self, query: TermQuery, limit: int, window: int = 0, by_recency: bool = False
    ) -> Ranking:
        """As on SQLite: the best `limit` (or newest, `by_recency`) of the matches, or of the newest `window`
        of them, and how many were ranked, in one statement."""
        compiled = compile_query(query)
        if compiled is None:
            return Ranking([], 0)
        simple = _single_terms(query)
        if window and not by_recency and simple is not None:
            return await self._window_by_postings(compiled, simple[0], simple[1], limit, window)
        params = _Params(compiled.tsquery)
        if by_recency:
            rows = await self.db.fetch_indexed(
                "SELECT m.doc_id, 0.0::float8, d.lang, (SELECT count(*) FROM (SELECT 1 FROM doc_index "
                f"WHERE tsv @@ $1::text::tsquery LIMIT {params.add(window or None)}) AS c) FROM (SELECT doc_id "
                f"FROM doc_index WHERE tsv @@ $1::text::tsquery ORDER BY doc_id DESC LIMIT {params.add(limit)}) "
                "AS m JOIN documents d ON d.id = m.doc_id ORDER BY m.doc_id DESC",
                *params.values,
            )
        else:
            ranked = await self._ranked(compiled, params, window)
            rows = await self.db.fetch_indexed(
                f"SELECT r.doc_id, r.score, d.lang, r.n FROM ({ranked} ORDER BY score DESC, doc_id DESC "
                f"LIMIT {params.add(limit)}) AS r JOIN documents d ON d.id = r.doc_id "
                "ORDER BY r.score DESC, r.doc_id DESC",
                *params.values,
            )
        found = [(int(r[0]), float(r[1]), str(r[2])) for r in rows]
        matched = int(rows[0][3]) if rows and (window or by_recency) else len(found)
        return Ranking(found, matched, bounded=bool(window) and matched >= window)

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
        simple = _single_terms(query)
        if simple is not None:
            lead = _rarest(simple[0], (await self._frequencies(compiled.phrases))[3])
            if lead is None:
                return 0
            params = _Params()
            newest = _newest_sql(simple[0], simple[1], lead, params, cap)
            return await self.db.int_scalar(f"SELECT count(*) FROM ({newest}) AS w", *params.values)
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


def _single_terms(query: TermQuery) -> tuple[list[list[str]], list[str]] | None:
    """The terms of each required word and the excluded terms, when every alternative is one term (no
    phrase, no prefix) and the words are ANDed; None otherwise."""
    if query.any_of:
        return None
    clauses: list[list[str]] = []
    for alt in query.required:
        if alt.prefix:
            return None
        terms = [tokens(" ".join(p)) for p in alt.phrases]
        if any(len(t) != 1 for t in terms):
            return None
        clauses.append([t[0] for t in terms])
    excluded: list[str] = []
    for alt in query.excluded:
        if alt.prefix:
            return None
        terms = [tokens(" ".join(p)) for p in alt.phrases]
        if any(len(t) != 1 for t in terms):
            return None
        excluded += [t[0] for t in terms]
    return clauses, excluded


def _rarest(clauses: list[list[str]], hits: list[int]) -> int | None:
    """The clause held by the fewest documents (its terms' frequencies summed); None when one has none."""
    df: list[int] = []
    k = 0
    for clause in clauses:
        df.append(sum(hits[k : k + len(clause)]))
        k += len(clause)
    return None if min(df) == 0 else df.index(min(df))


def _newest_sql(
    clauses: list[list[str]], excluded: list[str], lead: int, params: _Params, window: int
) -> str:
    """(doc_id) of the newest `window` documents with a term of every clause and none of `excluded`: the
    `lead` clause's postings walked newest first (an index scan that stops at the window), each document
    checked for the others by key."""
    driver = " UNION ALL ".join(
        f"SELECT doc_id FROM postings WHERE term = {params.add(t)}" for t in dict.fromkeys(clauses[lead])
    )
    # LATERAL ... LIMIT 1: one probe of the key per candidate, never a hash of a common word's postings.
    joins = [
        f"CROSS JOIN LATERAL (SELECT 1 FROM postings q WHERE q.term = ANY({params.add(c)}::text[]) "
        f"AND q.doc_id = s.doc_id LIMIT 1) AS c{j}"
        for j, c in enumerate(clauses)
        if j != lead
    ]
    where = ""
    if excluded:
        joins.append(
            f"LEFT JOIN LATERAL (SELECT 1 AS hit FROM postings x WHERE x.term = ANY({params.add(excluded)}"
            "::text[]) AND x.doc_id = s.doc_id LIMIT 1) AS x ON true"
        )
        where = "WHERE x.hit IS NULL"
    group = "GROUP BY s.doc_id " if len(set(clauses[lead])) > 1 else ""
    return (
        f"SELECT s.doc_id FROM ({driver}) AS s {' '.join(joins)} {where} "
        f"{group}ORDER BY s.doc_id DESC LIMIT {params.add(window)}"
    )
