"""The document store: documents with their index rows, search, duplicates and stories, the bin, digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from storage.backend import Backend
from storage.models import Alternatives, RestoreConflict, StoryQuery, TermQuery
from tests.storage.conftest import new_document

JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


def _query(*words: str, any_of: bool = False, excluded: tuple[str, ...] = ()) -> TermQuery:
    return TermQuery(
        required=tuple(Alternatives(phrases=((w,),)) for w in words),
        excluded=tuple(Alternatives(phrases=((w,),)) for w in excluded),
        any_of=any_of,
    )


async def test_add_and_read_back(backend: Backend) -> None:
    docs = backend.documents
    first = await docs.add(new_document(1))
    second = await docs.add(new_document(2, published=None, duplicate_of=first, story_id=first))
    doc = await docs.get(first)
    assert doc is not None
    assert (doc.title, doc.text, doc.url, doc.source_name) == (
        "Заголовок 1",
        "Текст номер 1.",
        "https://example.kz/1",
        "Пример",
    )
    assert (doc.published, doc.lang, doc.content_hash, doc.hidden) == (
        date(2026, 1, 10),
        "ru",
        "hash-1",
        False,
    )
    assert doc.story_id == first, "a document with no story starts its own"
    assert doc.created_at.tzinfo is not None and doc.updated_at >= doc.created_at
    copy = await docs.get(second)
    assert copy is not None and copy.duplicate_of == first and copy.story_id == first
    assert copy.published is None
    assert await docs.get(999) is None
    assert (await docs.by_hash("hash-2")) == copy
    assert await docs.by_hash("nothing") is None


async def test_ids_only_grow_even_after_a_delete(backend: Backend) -> None:
    first = await backend.documents.add(new_document(1))
    assert await backend.documents.move_to_bin(first, admin_id=1) is not None
    second = await backend.documents.add(new_document(2))
    assert second > first


async def test_latest_count_story_members_and_hidden(backend: Backend) -> None:
    docs = backend.documents
    a = await docs.add(new_document(1, published=date(2026, 1, 1)))
    b = await docs.add(new_document(2, published=date(2026, 1, 3), story_id=a))
    c = await docs.add(new_document(3, published=None))
    d = await docs.add(new_document(4, published=date(2026, 1, 2)))
    assert [x.id for x in await docs.latest(10)] == [b, d, a, c], "newest first, undated last"
    assert [x.id for x in await docs.latest(2, offset=1)] == [d, a]
    assert [x.id for x in await docs.latest(10, since=date(2026, 1, 2))] == [b, d]
    assert await docs.set_hidden(d, True, "", "")
    assert not await docs.set_hidden(d, True, "", ""), "already hidden: nothing changes"
    assert [x.id for x in await docs.latest(10)] == [b, a, c]
    assert [x.id for x in await docs.latest(10, include_hidden=True)] == [b, d, a, c]
    assert (await docs.count(), await docs.count(include_hidden=True)) == (3, 4)
    assert [x.id for x in await docs.hidden()] == [d]
    assert [x.id for x in await docs.story_members(a)] == [b, a]
    assert await docs.set_hidden(b, True, "", "")
    assert [x.id for x in await docs.story_members(a)] == [a]
    assert [x.id for x in await docs.story_members(a, include_hidden=True)] == [b, a]


async def test_search_ranks_and_counts_and_hidden_documents_leave_the_index(backend: Backend) -> None:
    docs = backend.documents
    a = await docs.add(new_document(1, title_terms="аэропорт", body_terms="новый терминал открыть"))
    b = await docs.add(new_document(2, title_terms="бюджет", body_terms="аэропорт упомянуть бюджет"))
    c = await docs.add(new_document(3, title_terms="погода", body_terms="снег"))
    found = await docs.search_documents(_query("аэропорт"), limit=10)
    assert [d.id for d, _ in found] == [a, b], "a title match ranks first"
    assert all(score > 0 for _, score in found)
    assert [d.id for d, _ in await docs.search_documents(_query("аэропорт"), 10, by_recency=True)] == [b, a]
    assert [d.id for d, _ in await docs.search_documents(_query("аэропорт"), 1, offset=1)] == [b]
    assert await docs.count_matches(_query("аэропорт"), cap=100) == 2
    assert await docs.count_matches(_query("аэропорт"), cap=1) == 1
    assert await docs.count_matches(_query("аэропорт", "снег"), cap=100) == 0
    assert await docs.count_matches(_query("аэропорт", "снег", any_of=True), cap=100) == 3
    assert await docs.count_matches(_query("аэропорт", excluded=("бюджет",)), cap=100) == 1
    prefix = TermQuery(required=(Alternatives(phrases=(("аэро",),), prefix=True),))
    assert await docs.count_matches(prefix, cap=100) == 2
    phrase = TermQuery(required=(Alternatives(phrases=(("новый", "терминал"),)),))
    assert await docs.count_matches(phrase, cap=100) == 1
    assert await docs.matching_among(_query("аэропорт"), [a, c]) == {a}
    assert await docs.matching_among(_query("аэропорт"), []) == set()
    assert await docs.prefix_freq("аэро") == 2
    ranked = await docs.ranked_ids(_query("аэропорт"), limit=10)
    assert [(i, lang) for i, _, lang in ranked] == [(a, "ru"), (b, "ru")]
    assert [s for _, s, _ in ranked] == [s for _, s in found], "the same BM25 as search_documents"
    # Ranking in one statement with the count; bounded to the newest matches when asked.
    whole = await docs.ranked(_query("аэропорт"), limit=10)
    assert (whole.rows, whole.matched, whole.bounded) == (ranked, 2, False)
    newest = await docs.ranked(_query("аэропорт"), limit=10, window=1)
    assert ([i for i, _, _ in newest.rows], newest.matched, newest.bounded) == ([b], 1, True)
    roomy = await docs.ranked(_query("аэропорт"), limit=1, window=5)
    assert ([i for i, _, _ in roomy.rows], roomy.matched, roomy.bounded) == ([a], 2, False)
    recent = await docs.ranked(_query("аэропорт"), limit=1, window=5, by_recency=True)
    assert ([i for i, _, _ in recent.rows], recent.matched) == ([b], 2)
    none = await docs.ranked(_query("аэропорт", "снег"), limit=10, window=5)
    assert (none.rows, none.matched) == ([], 0)
    assert [d.id for d in await docs.get_many([c, 999, a])] == [c, a], "in the order asked, missing left out"
    assert await docs.get_many([]) == []
    assert await docs.index_terms([a, c, 999]) == {a: "аэропорт новый терминал открыть", c: "погода снег"}
    assert await docs.index_terms([]) == {}
    assert await docs.indexed_count() == 3
    assert (await docs.term_frequencies())["аэропорт"] == 2

    assert await docs.set_hidden(a, True, "", "")
    assert [d.id for d, _ in await docs.search_documents(_query("аэропорт"), 10)] == [b]
    assert await docs.indexed_count() == 2
    assert (await docs.term_frequencies())["аэропорт"] == 1
    assert await docs.set_hidden(a, False, "аэропорт", "новый терминал открыть")
    assert await docs.count_matches(_query("аэропорт"), cap=100) == 2


async def test_update_meta(backend: Backend) -> None:
    docs = backend.documents
    doc_id = await docs.add(new_document(1))
    assert not await docs.update_meta(doc_id), "nothing to change"
    assert not await docs.update_meta(999, title="x")
    assert await docs.update_meta(
        doc_id,
        title="Новый заголовок",
        title_terms="новый заголовок",
        published=date(2025, 5, 5),
        source_name="Другой",
        url="https://other.kz/1",
    )
    doc = await docs.get(doc_id)
    assert doc is not None
    assert (doc.title, doc.published, doc.source_name, doc.url) == (
        "Новый заголовок",
        date(2025, 5, 5),
        "Другой",
        "https://other.kz/1",
    )
    assert await docs.count_matches(_query("новый"), cap=10) == 1


async def test_vocabulary_counts_documents_per_word(backend: Backend) -> None:
    docs = backend.documents
    await docs.add(new_document(1, words=("Токаев", "город", "город")))
    await docs.add(new_document(2, words=("город",)))
    await docs.add_vocabulary({"город": 3, "степь": 1})
    assert dict(await docs.vocabulary()) == {"Токаев": 1, "город": 6, "степь": 1}


async def test_duplicate_and_story_features(backend: Backend) -> None:
    docs = backend.documents
    a = await docs.add(new_document(1, bands=(11, 12, 13), minhash=b"\x01" * 8, fingerprint='{"x": 0.5}'))
    b = await docs.add(new_document(2, bands=(11, 99, 13), minhash=b"\x02" * 8))
    await docs.add(new_document(3, bands=(77, 78, 79)))
    assert await docs.band_candidates((11, 12, 13)) == [a, b], "most shared bands first"
    assert await docs.band_candidates((11, 0, 0), limit=1) in ([a], [b])
    assert await docs.band_candidates(()) == []
    assert await docs.minhashes([a, b, 999]) == {a: b"\x01" * 8, b: b"\x02" * 8}
    assert await docs.minhashes([]) == {}
    assert await docs.fingerprint(a) == {"x": 0.5}
    assert await docs.fingerprint(999) == {}


async def test_story_candidates_share_keys_within_the_date_window(backend: Backend) -> None:
    docs = backend.documents
    near = await docs.add(
        new_document(
            1, published=date(2026, 3, 5), story_keys=("аэропорт", "терминал"), fingerprint='{"a": 1}'
        )
    )
    one_key = await docs.add(new_document(2, published=date(2026, 3, 6), story_keys=("аэропорт",)))
    await docs.add(new_document(3, published=date(2026, 6, 1), story_keys=("аэропорт", "терминал")))
    undated = await docs.add(new_document(4, published=None, story_keys=("аэропорт", "терминал")))
    window = (date(2026, 3, 1), date(2026, 3, 10))
    rows = await docs.story_candidates(["аэропорт", "терминал"], *window, limit=10)
    assert [r.doc_id for r in rows] == [near, one_key], "most shared keys first"
    assert (rows[0].story_id, rows[0].published, rows[0].lang, rows[0].fingerprint) == (
        near,
        date(2026, 3, 5),
        "ru",
        '{"a": 1}',
    )
    rows = await docs.story_candidates(["аэропорт", "терминал"], *window, limit=10, min_shared=2)
    assert [r.doc_id for r in rows] == [near]
    rows = await docs.story_candidates(["аэропорт", "терминал"], None, None, limit=10)
    assert [r.doc_id for r in rows] == [undated], "an undated text is compared with undated ones"
    assert await docs.story_candidates([], *window, limit=10) == []


async def test_story_key_docs_are_what_each_key_offers_to_story_candidates(backend: Backend) -> None:
    docs = backend.documents
    march = [
        await docs.add(new_document(i, published=date(2026, 3, day), story_keys=("аэропорт",)))
        for i, day in ((1, 5), (2, 7), (3, 7), (4, 2))
    ]
    await docs.add(new_document(5, published=date(2026, 6, 1), story_keys=("аэропорт",)))
    undated = [await docs.add(new_document(i, published=None, story_keys=("аэропорт",))) for i in (6, 7)]
    window = StoryQuery(("аэропорт", "терминал"), date(2026, 3, 1), date(2026, 3, 10))
    found = await docs.story_key_docs([window, StoryQuery(("аэропорт",), None, None)], per_key=3)
    # the most recent first, and of one day the newest id: the three that `story_candidates` would count
    assert [[[(d.doc_id, d.published) for d in key] for key in q] for q in found] == [
        [[(march[2], date(2026, 3, 7)), (march[1], date(2026, 3, 7)), (march[0], date(2026, 3, 5))], []],
        [[(undated[1], None), (undated[0], None)]],
    ]
    rows = await docs.story_candidates(["аэропорт"], date(2026, 3, 1), date(2026, 3, 10), limit=10, per_key=3)
    assert sorted(r.doc_id for r in rows) == sorted(march[:3])
    assert {r.shared for r in rows} == {1}
    assert await docs.story_key_docs([]) == []


async def test_add_many_stores_a_batch_with_references_within_it(backend: Backend) -> None:
    docs = backend.documents
    before = await docs.add(new_document(1, words=("город",)))
    batch = [
        new_document(2, words=("город",), story_keys=("аэропорт",), bands=(21, 22)),
        new_document(3, story_of=0, copy_of=0),  # joins the story of the first of the batch, republishes it
        new_document(4, story_id=before),
    ]
    first, second, third = await docs.add_many(batch)
    assert first is not None and second is not None and third is not None
    assert before < first < second < third, "ids only grow, in the batch's order"
    stored = await docs.get_many([first, second, third])
    assert [(d.story_id, d.duplicate_of) for d in stored] == [(first, None), (first, first), (before, None)]
    assert dict(await docs.vocabulary()) == {"город": 2}
    assert await docs.band_candidates((21, 22)) == [first]
    rows = await docs.story_candidates(["аэропорт"], date(2026, 1, 1), date(2026, 1, 31), limit=10)
    assert [r.doc_id for r in rows] == [first]
    assert await docs.add_many([]) == []


async def test_add_many_loses_only_the_document_the_database_refuses(backend: Backend) -> None:
    docs = backend.documents
    stored = await docs.add(new_document(1))
    # The same text as a stored one: the UNIQUE constraint refuses it, and only it.
    refused = replace(new_document(3, words=("степь",)), content_hash="hash-1")
    ids = await docs.add_many([new_document(2), refused, new_document(4, story_of=1), new_document(5)])
    assert ids[1] is None
    assert all(i is not None for i in (ids[0], ids[2], ids[3]))
    assert await docs.count() == 4
    assert (await docs.by_hash("hash-1")) == await docs.get(stored)
    third = await docs.get(ids[2] or 0)
    assert third is not None and third.story_id == ids[2], "a reference to a refused document is dropped"
    assert dict(await docs.vocabulary()) == {}
    assert await docs.by_hashes(["hash-2", "hash-5", "nothing"]) == {
        "hash-2": await docs.get(ids[0] or 0),
        "hash-5": await docs.get(ids[3] or 0),
    }


async def test_batch_lookups_of_bands_and_story_keys(backend: Backend) -> None:
    docs = backend.documents
    a = await docs.add(new_document(1, bands=(11, 12, 13), minhash=b"\x01" * 8, story_keys=("k1", "k2")))
    b = await docs.add(new_document(2, bands=(11, 99, 13), minhash=b"\x02" * 8, duplicate_of=a, story_id=a))
    near = await docs.near_candidates([(11, 12, 13), (77, 78, 79), (0, 99, 0)])
    assert [[(c.doc_id, c.minhash, c.original_id, c.original_story_id) for c in n] for n in near] == [
        [(a, b"\x01" * 8, a, a), (b, b"\x02" * 8, a, a)],
        [],
        [(b, b"\x02" * 8, a, a)],
    ]
    assert await docs.near_candidates([]) == []
    window = StoryQuery(("k1", "k2"), date(2026, 1, 1), date(2026, 1, 31))
    found = await docs.story_candidates_many([window, StoryQuery(("k1",), None, None)], limit=10)
    assert [[(r.doc_id, r.shared) for r in rows] for rows in found] == [[(a, 2)], []]
    c = await docs.add(new_document(3, story_keys=("k1",)))
    found = await docs.story_candidates_many([window, replace(window, limit=1)], limit=10)
    assert [[r.doc_id for r in rows] for rows in found] == [[a, c], [a]], "a query's own limit comes first"
    found = await docs.story_candidates_many([window], limit=10, fingerprints=False)
    assert [(r.doc_id, r.story_id, r.shared) for r in found[0]] == [(a, a, 2), (c, c, 1)]
    assert await docs.fingerprints([a, c, 999]) == {a: "{}", c: "{}"}
    assert await docs.fingerprints([]) == {}


async def test_stats(backend: Backend) -> None:
    docs = backend.documents
    await docs.add(new_document(1, published=date(2026, 1, 5)))
    await docs.add(new_document(2, published=date(2026, 2, 5), lang="kk"))
    hidden = await docs.add(new_document(3, published=None))
    await docs.set_hidden(hidden, True, "", "")
    stats = await docs.stats()
    assert (stats.documents, stats.hidden) == (3, 1)
    assert stats.by_language == {"ru": 2, "kk": 1}
    assert stats.by_month == {"2026-01": 1, "2026-02": 1, "undated": 1}
    assert stats.terms > 0 and stats.database_bytes > 0


async def test_the_bin_deletes_whole_and_restores_whole(backend: Backend) -> None:
    docs = backend.documents
    original = await docs.add(new_document(1, story_keys=("k1", "k2"), words=("слово",)))
    copy = await docs.add(new_document(2, duplicate_of=original, story_id=original))
    before = await docs.get(original)
    assert await docs.move_to_bin(999, admin_id=1) is None
    deleted = await docs.move_to_bin(original, admin_id=1)
    assert deleted == before
    assert await docs.get(original) is None
    assert await docs.count_matches(_query("t1"), cap=10) == 0
    assert await docs.band_candidates(new_document(1).bands) == []
    assert await docs.story_candidates(["k1", "k2"], *JANUARY, limit=10) == []
    copy_doc = await docs.get(copy)
    assert copy_doc is not None and copy_doc.duplicate_of is None, "the copy no longer points at it"

    since = datetime.now(UTC) - timedelta(minutes=5)
    assert await docs.last_in_bin(1, since) == before, "what the admin's undo would bring back"
    assert await docs.last_in_bin(2, since) is None, "another admin's deletion"
    assert await docs.last_in_bin(1, datetime.now(UTC) + timedelta(minutes=5)) is None, "too late"
    assert await docs.restore_from_bin(original, datetime.now(UTC) + timedelta(minutes=5)) is None, "too late"
    restored = await docs.restore_from_bin(original, since)
    assert restored == original, "the old id comes back when it is free"
    doc = await docs.get(original)
    assert doc is not None and (doc.title, doc.content_hash, doc.story_id) == (
        "Заголовок 1",
        "hash-1",
        original,
    )
    assert await docs.count_matches(_query("t1"), cap=10) == 1
    assert await docs.band_candidates(new_document(1).bands) == [original]
    assert [r.doc_id for r in await docs.story_candidates(["k1", "k2"], *JANUARY, limit=10)] == [original]
    copy_doc = await docs.get(copy)
    assert copy_doc is not None and copy_doc.duplicate_of == original, "the copy's link is put back"
    assert await docs.restore_from_bin(original, since) is None, "the bin no longer has it"
    assert await docs.last_in_bin(1, since) is None, "nothing left to undo"


async def test_a_restore_is_refused_when_the_text_is_stored_again(backend: Backend) -> None:
    docs = backend.documents
    first = await docs.add(new_document(1))
    await docs.move_to_bin(first, admin_id=1)
    again = await docs.add(new_document(1))
    with pytest.raises(RestoreConflict) as refused:
        await docs.restore_from_bin(first, datetime.now(UTC) - timedelta(minutes=5))
    assert refused.value.existing_id == again
    assert await docs.count() == 1


async def test_digest_cursors(backend: Backend) -> None:
    docs = backend.documents
    assert (await docs.latest_visible_id(), await docs.cursor_before_latest(2)) == (0, 0)
    ids = [await docs.add(new_document(n)) for n in range(1, 6)]
    await docs.set_hidden(ids[4], True, "", "")
    assert await docs.latest_visible_id() == ids[3]
    assert await docs.cursor_before_latest(2) == ids[1], "two visible documents after it"
    assert await docs.cursor_before_latest(10) == 0
    assert [d.id for d in await docs.visible_after(ids[1], 10)] == [ids[3], ids[2]]
    assert [d.id for d in await docs.visible_after(0, 1)] == [ids[3]]
