"""SQLite ranks a phrase query over the newest `window` matches of the phrase itself, whatever share of the
texts holding its words have it: counted exactly below the window ("N+" at it, as every query), scored by
FTS5's own bm25(4.0, 1.0), whatever the query's shape."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.backend import Backend, open_backend
from storage.documents import compile_match
from storage.models import Alternatives, TermQuery
from tests.storage.conftest import new_document

_DOCS = [
    ("новый терминал", "аэропорт открыть новый терминал для рейс"),
    ("рейс", "новый новый терминал терминал новый терминал"),
    ("", "снег задержать рейс новый аэропорт терминал"),
    ("новый терминал аэропорт", "новый терминал новый терминал бюджет"),
    ("бюджет", "бюджет новый год новый терминал"),
    ("метро", "метро метро метро новый линия"),
    ("новый-терминал", "рейс.новый терминал,аэропорт"),
    ("а а", "а а а новый терминал а"),
]


def _alt(*phrases: str) -> Alternatives:
    return Alternatives(phrases=tuple(tuple(p.split()) for p in phrases))


_QUERIES = [
    TermQuery(required=(_alt("новый терминал"),)),
    TermQuery(required=(_alt("новый терминал", "метро"),)),
    TermQuery(required=(_alt("новый терминал"), _alt("рейс", "аэропорт"))),
    TermQuery(required=(_alt("новый терминал"),), excluded=(_alt("бюджет"),)),
    TermQuery(required=(_alt("новый терминал"), _alt("метро линия")), any_of=True),
    TermQuery(required=(_alt("а а"),)),
    TermQuery(required=(_alt("новый терминал", "терминал"),)),
]


async def _filled(tmp_path: Path, docs: list[tuple[str, str]]) -> Backend:
    backend = await open_backend(f"sqlite:///{tmp_path / 'rank.db'}")
    for n, (title, body) in enumerate(docs, start=1):
        lang = "kk" if n % 3 == 0 else "ru"
        await backend.documents.add(new_document(n, title_terms=title, body_terms=body, lang=lang))
    return backend


def _fts5(path: Path, query: TermQuery, window: int) -> list[tuple[int, float]]:
    """FTS5's own ranking of the newest `window` matches: (id, score), best first."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT rowid, bm25(doc_fts, 4.0, 1.0) FROM doc_fts WHERE doc_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            (compile_match(query), window),
        ).fetchall()
    return sorted(((i, -s) for i, s in rows), key=lambda x: (-x[1], -x[0]))


@pytest.mark.parametrize("query", _QUERIES, ids=compile_match)
async def test_phrase_window_ranks_as_fts5(tmp_path: Path, query: TermQuery) -> None:
    backend = await _filled(tmp_path, _DOCS)
    try:
        for window in (100, 5, 3, 1):
            expected = _fts5(tmp_path / "rank.db", query, window)
            ranking = await backend.documents.ranked(query, limit=2, window=window)
            # The best two of the window, with FTS5's scores and each text's language.
            assert [(i, s) for i, s, _ in ranking.rows] == expected[:2], window
            assert [lang for _, _, lang in ranking.rows] == [
                "kk" if i % 3 == 0 else "ru" for i, _ in expected[:2]
            ]
            assert (ranking.matched, ranking.bounded) == (len(expected), len(expected) >= window), window
    finally:
        await backend.close()


async def test_a_phrase_rarer_than_its_words_is_counted_exactly(tmp_path: Path) -> None:
    phrase = TermQuery(required=(_alt("новый терминал"),))
    apart = ("", "терминал открыть новый")
    # The phrase in 1, 2 and 5; 3, 4, 6 and 7, the newest of them, have its words apart.
    backend = await _filled(
        tmp_path,
        [("", "новый терминал"), ("новый терминал", ""), apart, apart, ("", "новый терминал"), apart, apart],
    )
    try:
        # More texts with both words than the window, fewer with the phrase: all three, and no "3+".
        found = await backend.documents.ranked(phrase, limit=5, window=5)
        assert ([i for i, _, _ in found.rows], found.matched, found.bounded) == ([2, 5, 1], 3, False)
        # A full window: the newest two matches, and "at least 2".
        newest = await backend.documents.ranked(phrase, limit=5, window=2)
        assert ([i for i, _, _ in newest.rows], newest.matched, newest.bounded) == ([2, 5], 2, True)
        # Past the texts an exclusion drops too.
        without = TermQuery(required=phrase.required, excluded=(_alt("открыть"),))
        found = await backend.documents.ranked(without, limit=1, window=5)
        assert ([i for i, _, _ in found.rows], found.matched, found.bounded) == ([2], 3, False)
    finally:
        await backend.close()


async def test_the_count_of_a_phrase_is_exact_below_the_window_on_every_backend(backend: Backend) -> None:
    # A search's window: 4,100 texts with the phrase's words apart between its matches, one newer and two
    # older. (Looking for the phrase only in the newest 4,000 of them said "1+".)
    docs = [new_document(1, body_terms="новый терминал"), new_document(2, title_terms="новый терминал")]
    docs += [new_document(n, body_terms="терминал открыть новый") for n in range(3, 4103)]
    docs.append(new_document(4103, body_terms="рейс новый терминал"))
    await backend.documents.add_many(docs)
    phrase = TermQuery(required=(_alt("новый терминал"),))
    found = await backend.documents.ranked(phrase, limit=10, window=500)
    assert (sorted(i for i, _, _ in found.rows), found.matched, found.bounded) == ([1, 2, 4103], 3, False)
    assert found.rows[0][0] == 2  # in the title
