"""Extractive summaries and the overview, on the sample article and the story fixtures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.morph import Morphology
from bot.text.normalize import TextMeta, make_title, sentences, split_markers
from bot.text.summarize import OverviewDoc, overview, ranked_sentences, summarize

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stories"
SAMPLE = Path(__file__).parents[2] / "bot" / "corpus" / "sample" / "alatau-special-regimes-2026-01-24.txt"


@pytest.fixture(scope="session")
def morph() -> Morphology:
    return Morphology()


def _read(path: Path) -> TextMeta:
    return split_markers(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample() -> TextMeta:
    return _read(SAMPLE)


@pytest.fixture(scope="session")
def news() -> dict[str, TextMeta]:
    return {p.stem: _read(p) for p in sorted(FIXTURES.glob("*.txt"))}


def _all_texts(sample: TextMeta, news: dict[str, TextMeta]) -> list[TextMeta]:
    return [sample, *news.values()]


def _positions(text: str, parts: Sequence[str]) -> list[int]:
    return [text.index(p) for p in parts]


def test_sample_summary(sample: TextMeta, morph: Morphology) -> None:
    out = summarize(sample.text, sample.title, morph=morph)
    assert len(out) == 3
    assert _positions(sample.text, out) == sorted(_positions(sample.text, out))
    # The sample opens mid-story («Он напомнил, что…», «По его словам…»): its first sentence that stands alone
    # opens the summary, not a reference to someone the card never names.
    assert out[0].startswith("По словам Сарсембаева")
    assert not any(s.startswith(("Он ", "По его словам")) for s in out)
    assert len(" ".join(out)) <= 600


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_sentence_count_is_honoured(
    count: int, sample: TextMeta, news: dict[str, TextMeta], morph: Morphology
) -> None:
    for meta in _all_texts(sample, news):
        out = summarize(meta.text, meta.title, count, morph=morph, max_chars=None)
        available = len(sentences(meta.text))
        assert len(out) == min(count, available)


def test_sentences_are_whole_distinct_and_in_order(
    sample: TextMeta, news: dict[str, TextMeta], morph: Morphology
) -> None:
    for meta in _all_texts(sample, news):
        whole = {s for _, _, s in sentences(meta.text)}
        out = summarize(meta.text, meta.title, morph=morph)
        assert out, meta.title
        assert all(s in whole for s in out)  # a sentence of the text, never a piece of one
        assert len(set(out)) == len(out)
        pos = _positions(meta.text, out)
        assert pos == sorted(pos)


@pytest.mark.parametrize("max_chars", [80, 150, 250, 400, 600, 1000])
def test_max_chars_is_honoured(
    max_chars: int, sample: TextMeta, news: dict[str, TextMeta], morph: Morphology
) -> None:
    for meta in _all_texts(sample, news):
        out = summarize(meta.text, meta.title, morph=morph, max_chars=max_chars)
        assert len(" ".join(out)) <= max_chars
        shortest = min(len(s) for _, _, s in sentences(meta.text))
        if shortest <= max_chars:
            assert out  # something always fits when some sentence does


def test_max_chars_drops_sentences_rather_than_cutting(news: dict[str, TextMeta], morph: Morphology) -> None:
    meta = news["decree__alatau-times"]
    full = summarize(meta.text, meta.title, morph=morph, max_chars=None)
    tight = summarize(meta.text, meta.title, morph=morph, max_chars=len(full[0]) + 5)
    assert tight == [full[0]]


def test_lead_sentence_of_news_is_included(news: dict[str, TextMeta], morph: Morphology) -> None:
    for name, meta in news.items():
        lead = sentences(meta.text)[0][2]
        assert lead in summarize(meta.text, meta.title, morph=morph), name


def test_short_and_empty_texts(morph: Morphology) -> None:
    assert summarize("", morph=morph) == []
    assert summarize("   \n\n ", morph=morph) == []
    assert summarize("Аким провел прием граждан.", morph=morph) == ["Аким провел прием граждан."]
    two = "В Алатау открылась первая школа. В ней будут учиться 1200 детей."
    assert summarize(two, morph=morph) == [
        "В Алатау открылась первая школа.",
        "В ней будут учиться 1200 детей.",
    ]
    assert summarize(two, sentences=1, morph=morph) == ["В Алатау открылась первая школа."]
    assert summarize(two, sentences=0, morph=morph) == []
    assert summarize("— … —", morph=morph) == []


def test_near_duplicate_sentences_appear_once(morph: Morphology) -> None:
    text = (
        "Аким Алатау утвердил план строительства двенадцати новых школ до 2028 года.\n\n"
        "Школы рассчитаны на 14 тысяч учеников, первые две откроются осенью.\n\n"
        "Финансирование выделят из местного и республиканского бюджетов.\n\n"
        "Напомним, аким Алатау утвердил план строительства двенадцати новых школ до 2028 года."
    )
    out = summarize(text, "В Алатау построят 12 школ", morph=morph)
    assert len(out) == 3
    assert sum("утвердил план строительства" in s for s in out) == 1


def test_quote_fragments_and_dangling_sentences_lose(news: dict[str, TextMeta], morph: Morphology) -> None:
    law = news["law__zhetysu-info"]
    assert not any("сказала она" in s for s in summarize(law.text, law.title, morph=morph))
    decree = news["decree__dala-news"]
    out = summarize(decree.text, decree.title, morph=morph)
    assert not any(s.startswith("Он будет") for s in out)  # "Он" = the operator, named in the previous one


def test_dangling_sentence_is_fine_after_its_antecedent(morph: Morphology) -> None:
    text = (
        "Аким Алатау Ерлан Жаксылыков представил программу развития города до 2030 года.\n\n"
        "Он пообещал построить 40 тысяч квартир и 30 школ в рамках программы развития.\n\n"
        "Погода в выходные будет солнечной."
    )
    out = summarize(text, "Аким Алатау представил программу развития", sentences=2, morph=morph)
    assert out == [sentences(text)[0][2], sentences(text)[1][2]]


def test_title_repeated_in_body_is_not_returned(morph: Morphology) -> None:
    title = "В Алатау построят международный аэропорт"
    body = (
        f"{title}\n"
        "Министерство транспорта и акимат подписали соглашение о строительстве аэропорта. "
        "Стоимость проекта оценивается в 1,1 миллиарда долларов. "
        "Первые рейсы запланированы на 2029 год. "
        "Рядом построят грузовой хаб."
    )
    out = summarize(body, title, morph=morph)
    assert title not in out
    assert out[0].startswith("Министерство транспорта")


def test_long_text_centrality(sample: TextMeta, news: dict[str, TextMeta], morph: Morphology) -> None:
    """A long text made of many stories: the summary stays within limits and picks the main thread."""
    long_text = "\n\n".join(m.text for m in _all_texts(sample, news))
    out = summarize(long_text, morph=morph, sentences=3)
    assert len(out) == 3
    assert all(s in long_text for s in out)


_POOL = [
    "Аким Алатау провел совещание по вопросам строительства.",
    "В городе появится новый парк площадью 20 гектаров.",
    "— Мы завершим работы к осени, — сказал он.",
    "При этом сроки могут измениться.",
    "Он добавил, что финансирование уже выделено.",
    "Alatau City will host an international forum in May.",
    "Алатау қаласында жаңа мектеп ашылды.",
    "Инвесторы вложат 3,2 млрд долларов в индустриальный парк.",
    "Фото: пресс-служба акимата",
    "Это первый подобный проект в регионе.",
]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.sampled_from(_POOL), max_size=12),
    joiner=st.sampled_from([" ", "\n", "\n\n"]),
    count=st.integers(min_value=0, max_value=5),
    max_chars=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
)
def test_properties(
    picks: list[str], joiner: str, count: int, max_chars: int | None, morph: Morphology
) -> None:
    text = joiner.join(picks)
    out = summarize(text, sentences=count, morph=morph, max_chars=max_chars)
    whole = [s for _, _, s in sentences(text)]
    assert len(out) <= count
    assert all(s in whole for s in out)
    if max_chars is not None:
        assert len(" ".join(out)) <= max_chars
    if count and text.strip() and max_chars is None:
        assert out
    ranked = ranked_sentences(text, count=count, morph=morph, max_chars=max_chars)
    assert sorted(ranked) == sorted(out) or len(whole) <= count


# --- overview -------------------------------------------------------------------------------------------


def _doc(doc_id: int, name: str, meta: TextMeta, story_id: int | None = None) -> OverviewDoc:
    return OverviewDoc(
        id=doc_id,
        title=meta.title or "",
        text=meta.text,
        source=name.split("__")[1],
        published=meta.published,
        story_id=story_id,
    )


def test_overview_groups_by_story_and_orders_by_coverage(
    news: dict[str, TextMeta], morph: Morphology
) -> None:
    events = sorted({n.split("__")[0] for n in news})
    docs = [_doc(i, n, m, events.index(n.split("__")[0])) for i, (n, m) in enumerate(news.items())]
    items = overview(docs, 20, morph=morph)
    assert len(items) == len(events)
    assert sorted(i for item in items for i in item.doc_ids) == [d.id for d in docs]
    for item in items:
        assert len({docs[i].story_id for i in item.doc_ids}) == 1
        assert item.story_id == docs[item.doc_ids[0]].story_id
        assert any(item.line in d.text for d in docs if d.id in item.doc_ids)
        assert item.published == max(docs[i].published or date.min for i in item.doc_ids)
    # The decree was reported by five outlets: it comes first; single reports come last.
    assert {docs[i].source for i in items[0].doc_ids} == set(items[0].sources)
    assert len(items[0].sources) == 5
    counts = [len(item.sources) for item in items]
    assert counts == sorted(counts, reverse=True)
    assert len({item.line for item in items}) == len(items)
    assert len(overview(docs, 3, morph=morph)) == 3


def test_overview_says_a_republished_sentence_once(news: dict[str, TextMeta], morph: Morphology) -> None:
    """Two outlets with the same text and no story ids yet: one item, one line, both sources."""
    names = ["council__alatau-times", "council__qaz-region", "airport__alatau-times"]
    docs = [_doc(i, n, news[n]) for i, n in enumerate(names)]
    items = overview(docs, 10, morph=morph)
    assert len(items) == 2
    council = next(item for item in items if 0 in item.doc_ids)
    assert set(council.doc_ids) == {0, 1}
    assert set(council.sources) == {"alatau-times", "qaz-region"}
    # The republication changed a word of the lead («прошло» → «состоялось»): one of the two, said once.
    assert council.line in news[names[0]].text or council.line in news[names[1]].text
    assert items[0] is council  # two sources before one


def test_overview_never_repeats_a_line_between_stories(morph: Morphology) -> None:
    shared = "Указ о специальном статусе Алатау Президент подписал в сентябре 2025 года."
    a = OverviewDoc(
        1,
        "Совет одобрил генплан Алатау",
        f"{shared} Совет по развитию одобрил генеральный план города. Генплан рассчитан до 2035 года.",
        "alatau-times",
        date(2025, 10, 14),
        story_id=10,
    )
    b = OverviewDoc(
        2,
        "В Алатау построят аэропорт",
        f"{shared} В городе построят международный аэропорт. Он примет первые рейсы в 2029 году.",
        "dala-news",
        date(2026, 2, 10),
        story_id=11,
    )
    items = overview([a, b], 5, morph=morph)
    assert len(items) == 2
    assert items[0].line != items[1].line
    assert sum(item.line == shared for item in items) <= 1


def test_overview_merges_storyless_reports_with_the_same_line(morph: Morphology) -> None:
    """Different leads, but both outlets' best sentence is the same one: one story, said once."""
    lead_a = "В пятницу аким Алатау встретился с делегацией."
    lead_b = "Встреча прошла в акимате города."
    key = "Инвесторы из ОАЭ построят в Алатау логистический хаб стоимостью 400 миллионов долларов."
    title = "Инвесторы из ОАЭ построят в Алатау логистический хаб"
    a = OverviewDoc(1, title, f"{lead_a} {key}", "a", date(2025, 11, 1))
    b = OverviewDoc(2, title, f"{lead_b} {key}", "b", date(2025, 11, 2))
    c = OverviewDoc(
        3, "Погода", "В выходные в Алатау ожидается снег и до минус 15 градусов.", "c", date(2025, 11, 2)
    )
    items = overview([a, b, c], 5, morph=morph)
    assert [(item.line, set(item.doc_ids)) for item in items] == [(key, {1, 2}), (c.text, {3})]


def test_overview_keeps_a_shared_sentence_once_without_merging(morph: Morphology) -> None:
    lead_a = "Аким Алатау Ерлан Жаксылыков встретился с инвесторами из ОАЭ."
    lead_b = "В пятницу в акимате прошла встреча с делегацией инвесторов."
    key = (
        "Стороны подписали соглашение о строительстве логистического хаба стоимостью 400 миллионов долларов."
    )
    a = OverviewDoc(1, "Инвесторы из ОАЭ построят хаб", f"{lead_a} {key}", "a", date(2025, 11, 1))
    b = OverviewDoc(2, "В Алатау построят логистический хаб", f"{lead_b} {key}", "b", date(2025, 11, 2))
    lines = [item.line for item in overview([a, b], 5, morph=morph)]
    assert len(lines) == len(set(lines))
    assert lines.count(key) <= 1


def test_overview_edge_cases(morph: Morphology) -> None:
    assert overview([], 5, morph=morph) == []
    doc = OverviewDoc(1, "Только заголовок", "", "src", None)
    assert overview([doc], 0, morph=morph) == []
    items = overview([doc], 5, morph=morph)
    assert [item.line for item in items] == ["Только заголовок"]


@pytest.mark.parametrize(
    ("lang", "outlet"), [("ru", None), ("en", "steppe-post"), ("kk", "alatau-zhanalyqtary")]
)
def test_overview_speaks_the_preferred_language(
    lang: str, outlet: str | None, news: dict[str, TextMeta], morph: Morphology
) -> None:
    docs = [_doc(i, n, m, story_id=1) for i, (n, m) in enumerate(news.items()) if n.startswith("decree__")]
    (item,) = overview(docs, 5, morph=morph, lang=lang)
    speaker = next(d for d in docs if item.line in d.text)
    if outlet:
        assert speaker.source == outlet
    else:
        assert speaker.source not in {"steppe-post", "alatau-zhanalyqtary"}


# --- news as outlets write it -----------------------------------------------------------------------------
# Small reports in the manner of Kazakh outlets (ru, kk, en), told in our own words: each with the two
# sentences a reader would pick, and what a summary must not do with it.

_BYLINE_FIRST = (
    "Автор: Айжан Абилова\n"
    "Фото: пресс-служба акимата\n"
    "Первый заместитель акима Алматинской области подписал меморандум с BI Group о строительстве Gate City. "
    "Жилые кварталы, школы, детские сады и поликлиники появятся на участке площадью 100 гектаров.\n\n"
    "Проект будет реализован на условиях государственно-частного партнерства. "
    "Контроль за строительством возьмет на себя аким области."
)
_DATELINE_LINE = (
    "15 января 2026 года.\n"
    "Электроснабжение Алатау вырастет в пять раз к 2050 году. "
    "Об этом стало известно в ходе рабочей поездки Премьер-министра Олжаса Бектенова, передает BAQ.KZ.\n\n"
    "По данным акимата, сейчас нагрузка города составляет 750–800 МВт. "
    "К 2030 году Алатау будет потреблять 2064 МВт, а к 2050 году — 4164 МВт.\n\n"
    "Напомним, на первом этапе в городе реализуется 21 проект на 365,1 млрд тенге."
)
_KAZAKH_DATELINE = (
    "2026 жылғы 3 ақпан.\n"
    "Премьер-министр Олжас Бектенов Алатау қаласын дамыту жөніндегі кеңестің кезекті отырысын өткізді. "
    "Бұл туралы Үкімет баспасөз қызметі хабарлады.\n\n"
    "Отырыста Алатау қаласының арнаулы мәртебесі туралы конституциялық заң жобасы талқыланды. "
    "Премьер-министрдің орынбасары Қанат Бозымбаев заң жобасын Парламент қарап жатқанын айтты.\n\n"
    "Сондай-ақ жобалық кеңсенің жұмысы қаралды."
)
_KAZINFORM_EN = (
    "ASTANA. KAZINFORM – Alatau City near Almaty will receive a special legal status and will be run "
    "directly by the Government, President Kassym-Jomart Tokayev said in his Address on Monday.\n\n"
    "The Head of State instructed the Government to prepare a draft decree on the special status within ten "
    "days. A separate law on Alatau must be adopted within six months, he said.\n\n"
    "According to Tokayev, Alatau should become the first fully digital city in the region."
)
_MID_STORY = (
    "Он отметил, что в Алатау уже проживают более 54 тысяч человек. "
    "По его словам, к 2050 году население может вырасти до двух миллионов.\n\n"
    "Аким Алматинской области Марат Султангазиев провел брифинг о развитии Алатау и Конаева. "
    "В Конаеве за год отремонтировали 39 километров дорог и установили 50 остановок.\n\n"
    "Генеральный план Алатау рассчитан до 2050 года."
)
_TRAILING_CREDIT = (
    "Вице-премьер Канат Бозумбаев провел совещание по развитию инфраструктуры Алатау. "
    "Обсуждались водоснабжение, дороги, школы и поликлиники для 12 микрорайонов города.\n\n"
    "При Правительстве формируется проектный офис, который будет координировать строительство.\n\n"
    "Фото: primeminister.kz\n"
    "Подписывайтесь на наш Telegram-канал"
)


def test_byline_and_credit_are_skipped(morph: Morphology) -> None:
    meta = split_markers(_BYLINE_FIRST)
    out = summarize(meta.text, meta.title or make_title(meta.text), 2, morph=morph)
    assert out == [
        "Первый заместитель акима Алматинской области подписал меморандум с BI Group о строительстве Gate City.",
        "Жилые кварталы, школы, детские сады и поликлиники появятся на участке площадью 100 гектаров.",
    ]
    # A byline left in the body (an upload that kept it inside the text) is skipped all the same.
    body = "Автор: Айжан Абилова. " + meta.text
    assert summarize(body, None, 2, morph=morph)[0].startswith("Первый заместитель")


def test_dateline_and_bare_credit_are_not_the_summary(morph: Morphology) -> None:
    meta = split_markers(_DATELINE_LINE)
    out = summarize(meta.text, make_title(meta.text), 2, morph=morph)
    assert out[0] == "Электроснабжение Алатау вырастет в пять раз к 2050 году."
    assert not any(s.startswith(("15 января", "Об этом", "Напомним")) for s in out)
    # A dateline the upload kept inside the body is not a sentence of the summary either.
    out = summarize("24 января 2026 года.\n" + meta.text, None, 2, morph=morph)
    assert out[0] == "Электроснабжение Алатау вырастет в пять раз к 2050 году."


def test_kazakh_lead_is_kept_and_the_credit_skipped(morph: Morphology) -> None:
    meta = split_markers(_KAZAKH_DATELINE)
    out = summarize(meta.text, make_title(meta.text), 2, morph=morph)
    assert out[0].startswith("Премьер-министр Олжас Бектенов Алатау қаласын дамыту")
    assert not any(s.startswith(("Бұл туралы", "2026 жылғы")) for s in out)
    assert out[1].startswith("Отырыста Алатау")


def test_english_dateline_stays_with_the_lead(morph: Morphology) -> None:
    out = summarize(_KAZINFORM_EN, "Alatau to get special status – Tokayev", 2, morph=morph)
    assert out[0].startswith("ASTANA. KAZINFORM – Alatau City near Almaty will receive")
    assert out[1].startswith("The Head of State instructed")


def test_summary_never_opens_with_a_dangling_sentence(morph: Morphology) -> None:
    out = summarize(_MID_STORY, None, 2, morph=morph)
    assert out[0].startswith("Аким Алматинской области Марат Султангазиев провел брифинг")
    assert not any(s.startswith(("Он ", "По его словам")) for s in out)


def test_lead_is_kept_and_trailing_credits_never_chosen(morph: Morphology) -> None:
    for sentences_wanted in (2, 3, 4):
        out = summarize(_TRAILING_CREDIT, None, sentences_wanted, morph=morph)
        assert out[0].startswith("Вице-премьер Канат Бозумбаев провел совещание")
        assert not any(s.startswith(("Фото", "Подписывайтесь")) for s in out[:3])


def test_second_sentence_comes_from_right_after_the_lead(morph: Morphology) -> None:
    """A sentence deep in the text that repeats the text's words is still not what the report leads with."""
    text = (
        "Правительство утвердило план развития Алатау до 2030 года.\n\n"
        "Документ предусматривает строительство 30 школ и 40 тысяч квартир.\n\n"
        "Финансирование выделят из республиканского бюджета и средств инвесторов.\n\n"
        "Жители села Жетыген пожаловались на качество дорог.\n\n"
        "Ранее аким района встречался с жителями.\n\n"
        "План развития Алатау до 2030 года Правительство утвердило, план развития Алатау утвержден."
    )
    out = summarize(text, None, 2, morph=morph)
    assert out[0] == "Правительство утвердило план развития Алатау до 2030 года."
    assert out[1] in {
        "Документ предусматривает строительство 30 школ и 40 тысяч квартир.",
        "Финансирование выделят из республиканского бюджета и средств инвесторов.",
    }
