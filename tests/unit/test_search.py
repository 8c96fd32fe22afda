from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus.ingest import Corpus
from bot.search import Ordering, Problem, SearchResult, SearchService, parse_query
from tests.conftest import text_input
from tests.corpus_texts import ALL


@pytest.fixture
async def ids(corpus: Corpus) -> dict[str, int]:
    out: dict[str, int] = {}
    names = ["decree", "crypto", "council", "airport", "english", "kazakh", "htmlish"]
    for name, text in zip(names, ALL, strict=True):
        result = await corpus.ingest(text_input(text, source=name))
        assert result.id is not None, result
        out[name] = result.id
    return out


def hit_ids(result: SearchResult) -> list[int]:
    return [h.document.id for h in result.hits]


async def test_inflected_form_finds_other_forms(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("криптовалютой")
    assert set(hit_ids(result)) >= {ids["decree"], ids["crypto"]}
    assert ids["airport"] not in hit_ids(result)
    assert not result.partial


async def test_texts_with_all_words_come_first(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("совет инвестиции")
    assert hit_ids(result)[0] == ids["council"]
    assert not result.hits[0].partial
    # The rest have only some of the words, and say so.
    assert all(h.partial for h in result.hits[1:])


async def test_partial_fallback_is_flagged(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("аэропорт криптовалюта")
    assert result.partial
    assert {ids["airport"], ids["crypto"]} <= set(hit_ids(result))


async def test_exact_phrase(search: SearchService, ids: dict[str, int]) -> None:
    # Both documents contain both words; only one has them side by side in this order.
    assert {ids["decree"], ids["council"]} <= set(hit_ids(await search.search("специальный статус")))
    phrase = await search.search('"специальный статус"')
    assert hit_ids(phrase) == [ids["council"]]


async def test_excluded_word(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("криптовалюта -песочница")
    assert ids["crypto"] not in hit_ids(result)
    assert ids["decree"] in hit_ids(result)


async def test_prefix(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("аэропор*")
    assert hit_ids(result) == [ids["airport"]]


async def test_only_excluded_and_empty_queries(search: SearchService, ids: dict[str, int]) -> None:
    assert (await search.search("-алатау")).problem is Problem.ONLY_EXCLUDED
    assert (await search.search('  "" ** ')).problem is Problem.EMPTY
    assert (await search.search("🙂🙂")).problem is Problem.EMPTY


async def test_title_outweighs_body(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("заседание")
    assert hit_ids(result)[0] == ids["council"]
    result = await search.search("аэропорт")
    assert hit_ids(result)[0] == ids["airport"]


async def test_typo_is_corrected(search: SearchService, ids: dict[str, int]) -> None:
    for typo in ("Токкаев", "Токев", "Тукаев"):
        result = await search.search(typo)
        assert ids["decree"] in hit_ids(result), typo
        assert result.corrected, typo
        assert result.corrected_query is not None and "токаев" in result.corrected_query.lower()


async def test_latin_and_cyrillic_spellings_meet(search: SearchService, ids: dict[str, int]) -> None:
    latin = await search.search("Tokayev")
    assert {ids["decree"], ids["english"]} <= set(hit_ids(latin))
    cyrillic = await search.search("Токаев")
    assert {ids["decree"], ids["english"]} <= set(hit_ids(cyrillic))


async def test_kazakh_and_english_are_searchable(search: SearchService, ids: dict[str, int]) -> None:
    assert ids["kazakh"] in hit_ids(await search.search("қаланың"))
    assert ids["english"] in hit_ids(await search.search("decrees"))


async def test_snippet_marks_original_words_and_escapes_html(
    search: SearchService, ids: dict[str, int]
) -> None:
    result = await search.search("экранировать")
    snippet = result.hits[0].snippet
    assert "<b>экранировать</b>" in snippet
    result = await search.search("атаки")
    snippet = result.hits[0].snippet
    assert "&lt;script&gt;" in snippet and "<script>" not in snippet
    assert "&amp;" in snippet
    # Only our own <b> tags are markup.
    assert set(re.findall(r"</?(\w+)", snippet)) == {"b"}
    # The snippet quotes the original inflected form, not the lemma.
    result = await search.search("криптовалюта")
    assert any("<b>криптовалютой</b>" in h.snippet for h in result.hits)


async def test_common_word_still_ranks_the_rare_one(search: SearchService, ids: dict[str, int]) -> None:
    # Алатау is in nearly every document: it must not hide the word that matters.
    result = await search.search("Алатау аэропорт")
    assert hit_ids(result)[0] == ids["airport"]


async def test_hidden_documents_leave_search(
    corpus: Corpus, search: SearchService, ids: dict[str, int], morph: object
) -> None:
    doc = await corpus.repo.get(ids["airport"])
    assert doc is not None
    assert await corpus.repo.set_hidden(doc.id, True, "", "")
    assert (await search.search("аэропорт")).hits == []


async def test_paging(search: SearchService, ids: dict[str, int]) -> None:
    first = await search.search("алатау", limit=2)
    second = await search.search("алатау", limit=2, offset=2)
    assert first.total >= 5
    assert first.has_next
    assert not set(hit_ids(first)) & set(hit_ids(second))


def test_parse_query_language() -> None:
    parsed = parse_query('указ "особый статус" -реклама крипто* AND NEAR( x:y ^ \x00')
    words = [(i.words, i.negated, i.prefix) for i in parsed.items]
    assert (("указ",), False, False) in words
    assert (("особый", "статус"), False, False) in words
    assert (("реклама",), True, False) in words
    assert (("крипто",), False, True) in words
    assert parse_query("x" * 10_000).truncated


async def test_common_words_are_ordered_by_publication_date(
    search: SearchService, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every test text has «алатау»: with a low limit it counts as too common to rank.
    monkeypatch.setattr("bot.search.RANK_LIMIT", 2)
    result = await search.search("алатау")
    assert result.ordering is Ordering.RECENT
    dates = [h.document.published for h in result.hits]
    assert None not in dates and dates == sorted(dates, reverse=True)  # type: ignore[type-var]


_WEIRD = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            ['"', "-", "*", "AND", "OR", "NOT", "NEAR(", ")", ":", "^", "{", "}", "алатау", "🙂", "\x00"]
        ),
        max_size=30,
    ).map(" ".join),
    st.just("a" * 10_000),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_WEIRD)
async def test_any_input_never_raises(search: SearchService, ids: dict[str, int], query: str) -> None:
    result = await search.search(query)
    known = set(ids.values())
    if result.problem is not None:
        assert result.hits == []
    else:
        assert len(result.hits) <= min(result.limit, result.total)
        assert {hit.document.id for hit in result.hits} <= known
    for hit in result.hits:
        assert set(re.findall(r"</?(\w+)", hit.snippet)) <= {"b"}
