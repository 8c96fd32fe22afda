"""Search over `doc_index` (see storage.postgres.fulltext): matching, BM25 ranking, term statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

from storage.documents import BY_DATE_WINDOW
from storage.models import Document, Ranking, TermQuery
from storage.postgres.db import PostgresDatabase
from storage.postgres.fulltext import K1, Compiled, Phrase, compile_query
from storage.postgres.rows import to_document
from storage.postgres.search_sql import (
    Params,
    bm25_norm,
    is_dense,
    match_bound,
    match_sql,
    matches_sql,
    newest_sql,
    phrase_sql,
    single_terms,
)

# Ranking a bounded set of matches reads each one's term frequencies by key; more matches than this are
# ranked from their terms' whole postings (one pass, hashed) instead.
_PROBED = 1000

_DOC_COLUMNS = (
    "d.id, d.title, d.text, d.url, d.source_name, d.published, d.lang, d.content_hash, d.duplicate_of, "
    "d.story_id, d.hidden, d.created_at, d.updated_at, d.author"
)


class Search:
    db: PostgresDatabase

    async def _frequencies(
        self, phrases: Sequence[Phrase]
    ) -> tuple[list[float], float, list[list[str]], list[int], int]:
        """BM25's IDF of each phrase (FTS5's formula, floored at 1e-6), the average document length, the
        terms each prefix stands for, how many documents hold each phrase, and how many are indexed (one
        query)."""
        params = Params()
        columns = []
        for phrase in phrases:
            if len(phrase.tokens) == 1 and not phrase.prefix:
                columns.append(
                    f"(SELECT coalesce(max(docs), 0) FROM doc_terms WHERE term = {params.add(phrase.tokens[0])})"
                )
            else:
                # Counted up to just over half of the documents: from there on BM25's IDF is its floor. The
                # matches are found through the indexes first (OFFSET 0), never by computing bigrams.
                columns.append(
                    f"(SELECT count(*) FROM (SELECT doc_id FROM (SELECT doc_id FROM doc_index WHERE "
                    f"{phrase_sql(phrase, params)} OFFSET 0) AS a LIMIT (SELECT docs / 2 + 1 FROM index_totals)) AS c)"
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
        return idf, (tokens / n if n else 1.0) or 1.0, expanded, hits, n

    async def _window_by_postings(
        self, compiled: Compiled, clauses: list[list[str]], excluded: list[str], limit: int, window: int
    ) -> Ranking:
        """The newest `window` matches of a query of single terms, ranked, read from `postings` alone.

        The rarest word's postings are walked newest first (an index scan that stops at the window); each
        document is checked for the other words and the excluded ones by key, and scored from the postings
        of its terms: no tsvector is unpacked and the work is bounded by the window, however common the
        words. The same matches and the same BM25 as the index would give."""
        idf, avgdl, _, hits, _ = await self._frequencies(compiled.phrases)
        required = [p.tokens[0] for p in compiled.phrases[: sum(len(c) for c in clauses)]]
        params = Params()
        newest = newest_sql(clauses, excluded, hits, params, window)
        if newest is None:
            return Ranking([], 0)
        frequencies = "".join(
            f", coalesce((SELECT tf FROM postings WHERE term = {params.add(t)} AND doc_id = w.doc_id), 0) AS f{k}"
            for k, t in enumerate(required)
        )
        norm = bm25_norm("m", avgdl, params)
        score = " + ".join(
            f"{params.add(weight)}::float8 * (m.f{k} * {K1 + 1}) / (m.f{k} + {norm})"
            for k, weight in enumerate(idf[: len(required)])
        )
        # Materialized: each frequency is read once, not once per use in BM25's formula.
        rows = await self.db.fetch(
            f"WITH w AS MATERIALIZED ({newest}), "
            f"m AS MATERIALIZED (SELECT w.doc_id, i.length{frequencies} FROM w JOIN doc_index i ON i.doc_id = w.doc_id) "
            f"SELECT r.doc_id, r.score, d.lang, (SELECT count(*) FROM w) FROM (SELECT m.doc_id, ({score})::float8 "
            f"AS score FROM m ORDER BY score DESC, m.doc_id DESC LIMIT {params.add(limit)}) AS r "
            "JOIN documents d ON d.id = r.doc_id ORDER BY r.score DESC, r.doc_id DESC",
            *params.values,
        )
        found = [(int(r[0]), float(r[1]), str(r[2])) for r in rows]
        matched = int(rows[0][3]) if rows else 0
        return Ranking(found, matched, bounded=matched >= window)

    async def _newest_by_postings(
        self, compiled: Compiled, clauses: list[list[str]], excluded: list[str], limit: int, window: int
    ) -> Ranking:
        """The newest `limit` matches of a query of single terms and how many of the newest `window` there
        are, read from `postings` as `_window_by_postings` reads them (however common the words: the GIN
        index would first list every document holding them)."""
        params = Params()
        hits = (await self._frequencies(compiled.phrases))[3]
        newest = newest_sql(clauses, excluded, hits, params, max(window, limit))
        if newest is None:
            return Ranking([], 0)
        rows = await self.db.fetch(
            f"WITH w AS MATERIALIZED ({newest}) SELECT m.doc_id, 0.0::float8, d.lang, "
            f"least((SELECT count(*) FROM w), {params.add(window)}) FROM (SELECT doc_id FROM w "
            f"ORDER BY doc_id DESC LIMIT {params.add(limit)}) AS m JOIN documents d ON d.id = m.doc_id "
            "ORDER BY m.doc_id DESC",
            *params.values,
        )
        found = [(int(r[0]), float(r[1]), str(r[2])) for r in rows]
        matched = int(rows[0][3]) if rows else 0
        return Ranking(found, matched, bounded=matched >= window)

    async def _ranked(self, compiled: Compiled, params: Params, window: int = 0) -> str:
        """A query of (doc_id, score, n) for every match (or the newest `window` of them; n: how many were
        ranked): FTS5's bm25(4.0, 1.0), the frequencies read from `postings` by term (a phrase of several
        terms counts as often as its rarest term occurs)."""
        idf, avgdl, expanded, hits, total = await self._frequencies(compiled.phrases)
        bound = match_bound(compiled, hits)
        # A few matches: each one's frequencies read by key. Many: their terms' postings read whole, once.
        probe = min(bound, window or bound) <= _PROBED
        terms: set[str] = set()
        aggregates: list[str] = []
        frequencies: list[str] = []

        def frequency(wanted: list[str], name: str, combine: str) -> str:
            if probe:
                return (
                    f"coalesce((SELECT {combine}(tf) FROM postings p WHERE p.term = ANY({params.add(wanted)}"
                    "::text[]) AND p.doc_id = m.doc_id), 0)"
                )
            terms.update(wanted)
            aggregates.append(
                f"{combine}(tf) FILTER (WHERE term = ANY({params.add(wanted)}::text[])) AS {name}"
            )
            return f"coalesce(g.{name}, 0)"

        for k, phrase in enumerate(compiled.phrases):
            if len(phrase.tokens) == 1:
                wanted = expanded[k] if phrase.prefix else [phrase.tokens[0]]
                frequencies.append(frequency(wanted, f"f{k}", "sum"))
                continue
            exact = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
            least = (
                "least(" + ", ".join(frequency([t], f"f{k}_{j}", "max") for j, t in enumerate(exact)) + ")"
            )
            if len(compiled.phrases) == 1:  # the only phrase of the query: every match has it
                frequencies.append(least)
                continue
            # Which of the ranked matches have this phrase: their own tsvectors tell (a bounded few).
            has = (
                f"EXISTS (SELECT 1 FROM doc_index i WHERE i.doc_id = m.doc_id "
                f"AND i.tsv @@ {params.add(phrase.tsquery())}::text::tsquery)"
            )
            frequencies.append(f"(CASE WHEN {has} THEN {least} ELSE 0 END)")
        norm = bm25_norm("f", avgdl, params)
        score = " + ".join(
            f"{params.add(weight)}::float8 * (f.f{k} * {K1 + 1}) / (f.f{k} + {norm})"
            for k, weight in enumerate(idf)
        )
        if window and is_dense(compiled, hits, total):
            # Most texts match: the newest ones, tested one by one, give the window after a few more than
            # it (listing every match through the index would read most of the table).
            ctes = [
                f"m AS MATERIALIZED (SELECT doc_id, length FROM doc_index WHERE tsv @@ "
                f"{params.add(compiled.tsquery)}::text::tsquery ORDER BY doc_id DESC LIMIT {params.add(window)})"
            ]
        else:
            matches = f"SELECT doc_id, length FROM doc_index WHERE {match_sql(compiled, params)}"
            # Every match through the indexes first: asked for the newest few directly, the planner may walk
            # the documents newest first testing each one, which for a rare phrase is all of them.
            ctes = [
                f"a AS MATERIALIZED ({matches}), m AS MATERIALIZED (SELECT doc_id, length FROM a "
                f"ORDER BY doc_id DESC LIMIT {params.add(window)})"
                if window
                else f"m AS MATERIALIZED ({matches})"
            ]
        joined = "m"
        if aggregates:
            ctes.append(
                "g AS (SELECT doc_id, " + ", ".join(aggregates) + " FROM postings "
                f"WHERE term = ANY({params.add(sorted(terms))}::text[]) AND doc_id IN (SELECT doc_id FROM m) "
                "GROUP BY doc_id)"
            )
            joined = "m LEFT JOIN g ON g.doc_id = m.doc_id"
        # Materialized: each frequency (a subquery when probed) is computed once, not once per use in BM25.
        columns = "".join(f", {f} AS f{k}" for k, f in enumerate(frequencies))
        ctes.append(f"f AS MATERIALIZED (SELECT m.doc_id, m.length{columns} FROM {joined})")
        return (
            f"WITH {', '.join(ctes)} SELECT f.doc_id, ({score})::float8 AS score, "
            "(SELECT count(*) FROM m) AS n FROM f"
        )

    def _newest_matches(self, compiled: Compiled, params: Params, window: int) -> str:
        """(doc_id) of the newest `window` matches. With a phrase, every match is found through the indexes
        first: walking the documents newest first, the planner would compute each one's bigrams."""
        return f"{matches_sql(compiled, params)} ORDER BY doc_id DESC LIMIT {params.add(window)}"

    async def search_documents(
        self, query: TermQuery, limit: int, offset: int = 0, by_recency: bool = False, by_date: bool = False
    ) -> list[tuple[Document, float]]:
        """As on SQLite: best first by BM25, or newest first by id (`by_recency`) or by date (`by_date`)."""
        compiled = compile_query(query)
        if compiled is None:
            return []
        params = Params()
        simple = single_terms(query) if by_date else None
        if simple is not None:
            window = max(BY_DATE_WINDOW, 4 * (offset + limit))
            hits = (await self._frequencies(compiled.phrases))[3]
            newest = newest_sql(simple[0], simple[1], hits, params, window)
            if newest is None:
                return []
            rows = await self.db.fetch(
                f"SELECT {_DOC_COLUMNS}, 0.0::float8 AS score FROM ({newest}) AS m JOIN documents d ON d.id = m.doc_id "
                f"ORDER BY d.published DESC NULLS LAST, d.id DESC LIMIT {params.add(limit)} OFFSET {params.add(offset)}",
                *params.values,
            )
            return [(to_document(r), 0.0) for r in rows]
        if by_date:
            # As on SQLite: the newest-saved matches (a window of them), ordered by publication date.
            window = max(BY_DATE_WINDOW, 4 * (offset + limit))
            newest = self._newest_matches(compiled, params, window)
            rows = await self.db.fetch_indexed(
                f"SELECT {_DOC_COLUMNS}, 0.0::float8 AS score FROM ({newest}) AS m "
                "JOIN documents d ON d.id = m.doc_id ORDER BY d.published DESC NULLS LAST, d.id DESC "
                f"LIMIT {params.add(limit)} OFFSET {params.add(offset)}",
                *params.values,
            )
            return [(to_document(r), 0.0) for r in rows]
        if by_recency:
            ranked = f"SELECT doc_id, 0.0::float8 AS score FROM doc_index WHERE {match_sql(compiled, params)}"
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
        params = Params()
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
        simple = single_terms(query)
        if window and not by_recency and simple is not None:
            return await self._window_by_postings(compiled, simple[0], simple[1], limit, window)
        if window and by_recency and simple is not None:
            return await self._newest_by_postings(compiled, simple[0], simple[1], limit, window)
        params = Params()
        if by_recency:
            counted = f"{matches_sql(compiled, params)} LIMIT {params.add(window or None)}"
            newest = self._newest_matches(compiled, params, limit)
            rows = await self.db.fetch_indexed(
                f"SELECT m.doc_id, 0.0::float8, d.lang, (SELECT count(*) FROM ({counted}) AS c) FROM ({newest}) "
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
        simple = single_terms(query)
        if simple is not None:
            params = Params()
            newest = newest_sql(
                simple[0], simple[1], (await self._frequencies(compiled.phrases))[3], params, cap
            )
            if newest is None:
                return 0
            return await self.db.int_scalar(f"SELECT count(*) FROM ({newest}) AS w", *params.values)
        params = Params()
        rows = await self.db.fetch_indexed(
            f"SELECT count(*) FROM ({matches_sql(compiled, params)} LIMIT {params.add(cap)}) AS m",
            *params.values,
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
