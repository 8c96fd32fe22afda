"""Phrases on PostgreSQL are matched through the index of bigrams (`doc_bigrams`), not by unpacking every
tsvector: the same matches, counts and windows as SQLite's FTS5, whatever the query's shape. (The order
of a phrase's matches by BM25 may differ where a text repeats the phrase's words elsewhere: PostgreSQL
counts a phrase as often as its rarest word, FTS5 its instances; see storage/postgres/fulltext.py.)"""

from __future__ import annotations

from pathlib import Path

from storage.backend import Backend, open_backend
from storage.models import Alternatives, TermQuery
from tests.storage.conftest import new_document

_DOCS = [
    ("новый терминал", "аэропорт открыть новый терминал для рейс"),
    ("рейс", "новый новый терминал терминал новый терминал"),
    # The title's last word and the body's first are no phrase: a gap separates the columns.
    ("новый", "терминал снег задержать рейс"),
    ("новый терминал аэропорт", "новый терминал новый терминал бюджет"),
    ("бюджет", "бюджет новый год новый терминал аэропорт"),
    ("метро", "метро метро метро новый линия"),
    ("а а", "а а а новый терминал а"),
    ("снег", "терминал новый снег аэропорт рейс"),
]


def _alt(*phrases: str, prefix: bool = False) -> Alternatives:
    return Alternatives(phrases=tuple(tuple(p.split()) for p in phrases), prefix=prefix)


_QUERIES = [
    TermQuery(required=(_alt("новый терминал"),)),
    TermQuery(required=(_alt("новый терминал аэропорт"),)),
    TermQuery(required=(_alt("терминал новый"),)),
    TermQuery(required=(_alt("а а"),)),
    TermQuery(required=(_alt("а а а"),)),
    TermQuery(required=(_alt("новый терм", prefix=True),)),
    TermQuery(required=(_alt("новый терминал", "метро"),)),
    TermQuery(required=(_alt("новый терминал"), _alt("рейс"))),
    TermQuery(required=(_alt("новый терминал"), _alt("снег", "бюджет")), any_of=True),
    TermQuery(required=(_alt("терминал"),), excluded=(_alt("новый терминал"),)),
    TermQuery(required=(_alt("новый терминал"),), excluded=(_alt("бюджет"),)),
    TermQuery(required=(_alt("терминал рейс"),)),
]


async def _filled(location: str) -> Backend:
    backend = await open_backend(location)
    for n, (title, body) in enumerate(_DOCS, start=1):
        await backend.documents.add(new_document(n, title_terms=title, body_terms=body))
    return backend


async def test_phrases_match_and_rank_as_on_sqlite(postgres_url: str, tmp_path: Path) -> None:
    lite = await _filled(f"sqlite:///{tmp_path / 'same.db'}")
    pg = await _filled(postgres_url)
    try:
        # A hidden text leaves the index of bigrams with its row, and comes back with it.
        for backend in (lite, pg):
            await backend.documents.set_hidden(4, True, "", "")
        for query in _QUERIES:
            expected = await lite.documents.search_documents(query, limit=20)
            found = await pg.documents.search_documents(query, limit=20)
            assert sorted(d.id for d, _ in found) == sorted(d.id for d, _ in expected), query
            for window, order in ((0, False), (2, False), (4, False), (100, False), (2, True), (100, True)):
                mine = await pg.documents.ranked(query, 20, window=window, by_recency=order)
                theirs = await lite.documents.ranked(query, 20, window=window, by_recency=order)
                assert (mine.matched, mine.bounded) == (theirs.matched, theirs.bounded), (query, window)
                ids, their_ids = [r[0] for r in mine.rows], [r[0] for r in theirs.rows]
                assert ids == their_ids if order else sorted(ids) == sorted(their_ids), (query, window)
            assert await pg.documents.count_matches(query, 100) == await lite.documents.count_matches(
                query, 100
            )
            for order in ({"by_recency": True}, {"by_date": True}):
                newest = await pg.documents.search_documents(query, 3, **order)
                expected_newest = await lite.documents.search_documents(query, 3, **order)
                assert [d.id for d, _ in newest] == [d.id for d, _ in expected_newest], (query, order)
    finally:
        await lite.close()
        await pg.close()


async def test_the_bigrams_are_the_pairs_a_phrase_query_matches(postgres_url: str) -> None:
    backend = await _filled(postgres_url)
    try:
        db = backend.database
        pairs = await db.fetchval("SELECT doc_bigrams(tsv) FROM doc_index WHERE doc_id = 3")  # type: ignore[attr-defined]
        # The title's «новый» and the body's «терминал» are not adjacent.
        assert sorted(pairs) == ["задержать рейс", "снег задержать", "терминал снег"]
        for phrase in ("новый терминал", "а а", "терминал новый"):
            a, b = phrase.split()
            by_tsv = await db.fetch(  # type: ignore[attr-defined]
                "SELECT doc_id FROM doc_index WHERE tsv @@ phraseto_tsquery('simple', $1) ORDER BY doc_id",
                phrase,
            )
            by_pairs = await db.fetch(  # type: ignore[attr-defined]
                "SELECT doc_id FROM doc_index WHERE doc_bigrams(tsv) @> ARRAY[$1] ORDER BY doc_id",
                f"{a} {b}",
            )
            assert [r[0] for r in by_pairs] == [r[0] for r in by_tsv], phrase
    finally:
        await backend.close()
