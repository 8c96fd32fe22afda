"""Search finds what a reader expects: abbreviations, compounds, names across scripts, reports in other
languages, questions, partial matches after full ones, words that no text has, "similar" with a floor."""

from __future__ import annotations

import pytest
from aiogram.utils.i18n import I18n

from bot.corpus.ingest import Corpus
from bot.i18n import make_i18n
from bot.search import SearchResult, SearchService, similar_documents
from handlers.ui import render
from tests.conftest import text_input

TEXTS = {
    "genplan_full": """date 2025-10-01
Утвержден генеральный план Алатау
Правительство утвердило генеральный план нового города Алатау до 2050 года. Документ предусматривает деловой центр и жилые кварталы.""",
    "genplan_abbr": """date 2025-10-02
Генплан Алатау обсудили архитекторы
Архитекторы обсудили генплан Алатау на отраслевой конференции. Они предложили добавить парки и велодорожки.""",
    "genplan_kk": """date 2025-10-03
Алатау қаласының бас жоспары бекітілді
Үкімет жаңа Алатау қаласының бас жоспарын бекітті. Құжат іскерлік орталық пен тұрғын кварталдарды қарастырады.""",
    "genplan_en": """date 2025-10-04
Alatau master plan approved
The government approved the master plan of the new city of Alatau until 2050, with a business centre and residential quarters.""",
    "taxi_one": """date 2025-11-01
В Алатау испытают аэротакси
Первые полеты аэротакси над городом Алатау пройдут весной, сообщили разработчики беспилотных машин.""",
    "taxi_hyphen": """date 2025-11-02
Аэро-такси появится в пригороде Алматы
Компания пообещала запустить аэро-такси между аэропортом и новым городом Алатау к концу года.""",
    "taxi_en": """date 2025-11-03
Air taxi trials planned in Alatau
Developers plan air taxi trials over Alatau City in spring, with flights between the airport and the business district.""",
    "tokayev_ru": """date 2025-09-01
Президент посетил стройку в Алатау
Касым-Жомарт Токаев осмотрел строительство новых кварталов Алатау и поручил ускорить работы.""",
    "tokayev_en": """date 2025-09-02
President visits Alatau construction site
Kassym-Jomart Tokayev inspected the construction of new quarters in Alatau and ordered faster work.""",
    "tokayev_kk": """date 2025-09-03
Мемлекет басшысы Алатаудағы құрылысты аралады
Қасым-Жомарт Тоқаев Алатаудағы жаңа кварталдардың құрылысын аралап, жұмысты жеделдетуді тапсырды.""",
    "residents": """date 2025-12-01
Жители Алатау получили новые квартиры
Более трехсот семей, жителей Алатау, переехали в новые дома. Аким пообещал построить еще две школы.""",
    "school": """date 2025-12-02
В Алатау откроют школу
В новом микрорайоне Алатау к сентябрю откроют школу на 1200 мест, сообщил аким.""",
}


@pytest.fixture
async def ids(corpus: Corpus) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, text in TEXTS.items():
        result = await corpus.ingest(text_input(text, source=name))
        assert result.id is not None, (name, result)
        out[name] = result.id
    return out


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return make_i18n()


def names(result: SearchResult, ids: dict[str, int]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[h.document.id] for h in result.hits]


async def test_abbreviation_meets_its_expansion(search: SearchService, ids: dict[str, int]) -> None:
    for query in ("генплан", "генеральный план", "генплане"):
        found = set(names(await search.search(query, limit=10), ids))
        assert {"genplan_full", "genplan_abbr"} <= found, query


async def test_compound_and_hyphen_variants_meet(search: SearchService, ids: dict[str, int]) -> None:
    for query in ("аэротакси", "аэро-такси", "air taxi"):
        found = set(names(await search.search(query, limit=10), ids))
        assert {"taxi_one", "taxi_hyphen", "taxi_en"} <= found, query


async def test_names_meet_across_scripts(search: SearchService, ids: dict[str, int]) -> None:
    everyone = {"tokayev_ru", "tokayev_en", "tokayev_kk"}
    for query in ("Касым-Жомарт", "Kassym-Jomart", "Қасым-Жомарт", "Токаев", "Tokayev"):
        assert everyone <= set(names(await search.search(query, limit=10), ids)), query
    # An oblique case finds what the base form finds, the English text included.
    assert "tokayev_en" in names(await search.search("Токаева", limit=10), ids)


async def test_russian_query_finds_kazakh_and_english_after_russian(
    search: SearchService, ids: dict[str, int]
) -> None:
    found = names(await search.search("генплан Алатау", limit=10), ids)
    assert {"genplan_kk", "genplan_en"} <= set(found)
    russian = [found.index(n) for n in ("genplan_full", "genplan_abbr")]
    others = [found.index(n) for n in ("genplan_kk", "genplan_en")]
    assert max(russian) < min(others)
    # A Russian reader gets the Russian report of Tokayev first, an English one the English report.
    assert names(await search.search("Токаев"), ids)[0] == "tokayev_ru"
    assert names(await search.search("Tokayev"), ids)[0] == "tokayev_en"
    # The interface language decides for a query that could be Russian or Kazakh.
    kazakh_reader = await search.search("Алатау кварталы", language="kk", limit=10)
    assert names(kazakh_reader, ids)[0] == "tokayev_kk"


async def test_question_words_are_not_required(search: SearchService, ids: dict[str, int]) -> None:
    for query in ("сколько жителей в Алатау сейчас", "как живут жители Алатау?", "как живут жители Алатау"):
        result = await search.search(query)
        assert names(result, ids)[0] == "residents", query
        assert not result.hits[0].partial, query


async def test_partial_matches_follow_full_ones_marked(
    search: SearchService, ids: dict[str, int], i18n: I18n
) -> None:
    result = await search.search("школа квартиры", limit=10)
    found = names(result, ids)
    assert found[0] == "residents" and not result.hits[0].partial
    assert "school" in found and result.hits[found.index("school")].partial
    assert result.partial
    with i18n.context(), i18n.use_locale("ru"):
        text = render.search_results(result, 0, "ru")
    assert "≈" in text and "только часть слов" in text


async def test_word_found_nowhere_is_named(search: SearchService, ids: dict[str, int], i18n: I18n) -> None:
    # «Алатау» is in every text: without «метро» nothing is "closest".
    result = await search.search("метро в Алатау")
    assert result.hits == []
    assert result.missing == ("метро",)
    with i18n.context(), i18n.use_locale("ru"):
        assert "Ни в одном тексте нет слова «метро»" in render.nothing_found(result)
    # A distinctive word that does occur still lists its texts, and the missing one is named.
    result = await search.search("аэротакси метро")
    assert result.missing == ("метро",)
    assert {"taxi_one", "taxi_hyphen", "taxi_en"} <= set(names(result, ids))
    with i18n.context(), i18n.use_locale("kk"):
        assert "«метро» сөзі" in "\n".join(render.search_header(result, 0, 1))


async def test_broad_word_lists_newest_first(search: SearchService, ids: dict[str, int]) -> None:
    result = await search.search("Алатау", limit=10)
    dates = [h.document.published for h in result.hits]
    assert None not in dates and dates == sorted(dates, reverse=True)  # type: ignore[type-var]


async def test_similar_is_cut_off(search: SearchService, ids: dict[str, int]) -> None:
    doc = await search.repo.get(ids["taxi_one"])
    assert doc is not None
    similar = {d.id for d in await similar_documents(search, doc)}
    assert ids["taxi_hyphen"] in similar or ids["taxi_en"] in similar
    # Texts that share no more than the city's name are not "similar".
    assert ids["genplan_kk"] not in similar and ids["residents"] not in similar
