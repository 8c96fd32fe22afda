"""The SQL of a search on PostgreSQL, built from a compiled query: which rows match (through the indexes),
the newest matches of words read from `postings`, BM25's pieces. Pure functions: no statement runs here."""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import TermQuery
from storage.postgres.fulltext import K1, B, Compiled, Phrase, tokens

# A query that at least this share of the documents surely match is ranked from the newest documents
# tested one by one: a few more than the window are read, instead of every match.
DENSE = 0.25


class Params:
    """Numbered parameters of one statement."""

    def __init__(self, *first: object) -> None:
        self.values: list[object] = list(first)

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def phrase_sql(phrase: Phrase, params: Params) -> str:
    """A condition on a `doc_index` row that is true exactly when `tsv @@ phrase.tsquery()`, answered by an
    index without unpacking tsvectors where it can: a term by the GIN index of `tsv` (which needs no
    positions for it), a phrase by the index of bigrams (two terms: exact; more: its tsvector confirms)."""
    pairs = phrase.bigrams()
    if not pairs:
        return f"tsv @@ {params.add(phrase.tsquery())}::text::tsquery"
    found = f"doc_bigrams(tsv) @> {params.add(pairs)}::text[]"
    if len(phrase.tokens) == 2 and not phrase.prefix:
        return found
    return f"({found} AND tsv @@ {params.add(phrase.tsquery())}::text::tsquery)"


def match_sql(compiled: Compiled, params: Params) -> str:
    """A condition on `doc_index` equal to `tsv @@ compiled.tsquery`, phrases through their bigrams. The
    words of a clause are one tsquery (a row tested in a filter is unpacked once, not once per word); an
    excluded phrase is tested on its row's tsvector (cheaper than computing the row's bigrams)."""
    if not any(p.bigrams() for p in compiled.phrases):
        return f"tsv @@ {params.add(compiled.tsquery)}::text::tsquery"
    clauses = []
    for clause in compiled.clauses:
        words = [p.tsquery() for p in clause if not p.bigrams()]
        either = [phrase_sql(p, params) for p in clause if p.bigrams()]
        if words:
            either.append(f"tsv @@ {params.add(' | '.join(words))}::text::tsquery")
        clauses.append("(" + " OR ".join(either) + ")")
    where = "(" + (" OR " if compiled.any_of else " AND ").join(clauses) + ")"
    if compiled.excluded:
        not_any = " | ".join(p.tsquery() for p in compiled.excluded)
        where += f" AND NOT (tsv @@ {params.add(not_any)}::text::tsquery)"
    return where


def matches_sql(compiled: Compiled, params: Params) -> str:
    """(doc_id) of every match, to be cut by a LIMIT. With a phrase the matches are found through the
    indexes first (OFFSET 0 keeps the LIMIT out): to stop early, the planner would walk the documents
    computing each one's bigrams."""
    where = match_sql(compiled, params)
    if any(p.bigrams() for p in compiled.phrases):
        return f"SELECT doc_id FROM (SELECT doc_id FROM doc_index WHERE {where} OFFSET 0) AS a"
    return f"SELECT doc_id FROM doc_index WHERE {where}"


def is_dense(compiled: Compiled, hits: Sequence[int], total: int) -> bool:
    """Whether at least a quarter of the documents surely match (from each phrase's document frequency:
    a clause has at least its commonest phrase's; clauses ANDed overlap at least by what their sizes
    exceed the whole; an exclusion takes at most its own)."""
    least, k = [], 0
    for clause in compiled.clauses:
        least.append(max(hits[k : k + len(clause)]))
        k += len(clause)
    sure = max(least) if compiled.any_of else sum(least) - (len(least) - 1) * total
    sure -= sum(hits[k:])
    return total > 0 and sure >= DENSE * total


def bm25_norm(alias: str, avgdl: float, params: Params) -> str:
    """BM25's k1 * (1 - b + b * length / avgdl), in float8 arithmetic (numeric's costs more than the rest
    of the ranking)."""
    return f"({params.add(K1 * (1 - B))}::float8 + {params.add(K1 * B / avgdl)}::float8 * {alias}.length)"


def match_bound(compiled: Compiled, hits: Sequence[int]) -> int:
    """At most how many documents match (from each phrase's document frequency)."""
    sums, k = [], 0
    for clause in compiled.clauses:
        sums.append(sum(hits[k : k + len(clause)]))
        k += len(clause)
    return sum(sums) if compiled.any_of else min(sums)


def single_terms(query: TermQuery) -> tuple[list[list[str]], list[str]] | None:
    """The terms of each required word and the excluded terms, when every alternative is one term (no
    phrase, no prefix); None otherwise. Words ORed (`any_of`) are one clause of all their terms."""
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
    if query.any_of:
        clauses = [[t for clause in clauses for t in clause]]
    return clauses, excluded


def rarest(clauses: list[list[str]], hits: list[int]) -> int | None:
    """The clause held by the fewest documents (its terms' frequencies summed); None when one has none."""
    df: list[int] = []
    k = 0
    for clause in clauses:
        df.append(sum(hits[k : k + len(clause)]))
        k += len(clause)
    return None if min(df) == 0 else df.index(min(df))


def newest_sql(
    clauses: list[list[str]], excluded: list[str], hits: Sequence[int], params: Params, window: int
) -> str | None:
    """(doc_id) of the newest `window` documents with a term of every clause and none of `excluded` (None
    when a clause is in no document): the postings of the rarest clause (`hits`: each term's documents)
    walked newest first (index scans merged in order, that stop at the window), each document checked for
    the others by key."""
    lead = rarest(clauses, list(hits))
    if lead is None:
        return None
    df = dict(zip([t for clause in clauses for t in clause], hits, strict=False))
    terms = list(dict.fromkeys(clauses[lead]))
    # Each term's postings in order, merged: the planner, which expects a few hundred postings of any term,
    # would otherwise hash and sort every posting of a common word.
    driver = " UNION ALL ".join(
        f"(SELECT doc_id FROM postings WHERE term = {params.add(t)} ORDER BY doc_id DESC)" for t in terms
    )
    joins: list[str] = []
    conditions: list[str] = []
    for j, clause in enumerate(clauses):
        if j == lead:
            continue
        if len(set(clause)) == 1:
            # One term: its postings are in the same order, so the planner may merge them with the lead's
            # (two words of a few thousand texts each) or probe its key per candidate (a common one).
            conditions.append(
                f"EXISTS (SELECT 1 FROM postings q{j} WHERE q{j}.term = {params.add(clause[0])} "
                f"AND q{j}.doc_id = s.doc_id)"
            )
            continue
        # LATERAL ... LIMIT 1: a probe of the key per candidate, never a hash of a common word's postings;
        # the commonest spelling first, so that the first probe mostly finds it.
        probes = " UNION ALL ".join(
            f"SELECT 1 FROM postings q WHERE q.term = {params.add(t)} AND q.doc_id = s.doc_id"
            for t in sorted(dict.fromkeys(clause), key=lambda t: -df.get(t, 0))
        )
        joins.append(f"CROSS JOIN LATERAL ({probes} LIMIT 1) AS c{j}")
    if excluded:
        joins.append(
            f"LEFT JOIN LATERAL (SELECT 1 AS hit FROM postings x WHERE x.term = ANY({params.add(excluded)}"
            "::text[]) AND x.doc_id = s.doc_id LIMIT 1) AS x ON true"
        )
        conditions.append("x.hit IS NULL")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    # A document comes once per term of the lead it has: `window` of them are among the first
    # `window` × terms of the merged stream.
    found = (
        f"SELECT s.doc_id FROM ({driver}) AS s {' '.join(joins)} {where} "
        f"ORDER BY s.doc_id DESC LIMIT {params.add(window * len(terms))}"
    )
    if len(terms) == 1:
        return found
    return f"SELECT DISTINCT doc_id FROM ({found}) AS f ORDER BY doc_id DESC LIMIT {params.add(window)}"
