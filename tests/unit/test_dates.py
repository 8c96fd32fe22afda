"""Publication dates: the marker or metadata first, then a dateline that opens the text; a date anywhere else
in the body is a mention and never dates the text."""

from __future__ import annotations

from datetime import date

import pytest

from bot.corpus.ingest import Corpus, TextInput
from bot.text.dates import month_number, read_dateline, strip_dateline
from bot.text.normalize import find_date, find_dateline, parse_date, sentences, split_markers

BODY = (
    "Мажилис одобрил в первом чтении законопроект о специальном статусе города Алатау. "
    "Документ предусматривает создание фонда Alatau City Authority и собственной системы регулирования. "
    "Закон вступит в силу с 1 марта 2027 года."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ru
        ("24 января 2026 года.\n" + BODY, date(2026, 1, 24)),
        ("24.01.2026\n" + BODY, date(2026, 1, 24)),
        ("АСТАНА, 24 января 2026 года — " + BODY, date(2026, 1, 24)),
        ("Астана, 5 марта 2026 года. " + BODY, date(2026, 3, 5)),
        ("21 ноября 2025, 18:05\n" + BODY, date(2025, 11, 21)),
        ("19.09.2025 10:21\n" + BODY, date(2025, 9, 19)),
        ("Опубликовано: 07.10.2025\n" + BODY, date(2025, 10, 7)),
        # kk
        ("2026 жылғы 24 қаңтар.\n" + BODY, date(2026, 1, 24)),
        ("2026 жылғы 3 ақпан. " + BODY, date(2026, 2, 3)),
        ("Алматы, 2025 жылғы 15 қыркүйек — " + BODY, date(2025, 9, 15)),
        ("2025 ж. 12 желтоқсан\n" + BODY, date(2025, 12, 12)),
        # en
        ("ASTANA, March 3, 2026 — " + BODY, date(2026, 3, 3)),
        ("ASTANA, March 3, 2026 (Kazinform) – " + BODY, date(2026, 3, 3)),
        ("3 March 2026 — " + BODY, date(2026, 3, 3)),
        ("March 3, 2026 — " + BODY, date(2026, 3, 3)),
        ("ALMATY, Sept. 24, 2025 – " + BODY, date(2025, 9, 24)),
    ],
)
def test_dateline_dates_the_text(text: str, expected: date) -> None:
    meta = split_markers(text)
    assert meta.published == expected
    assert find_dateline(meta.text) in {expected, None}  # a dateline alone on its line is not in the body
    assert "1 марта 2027" in meta.text


@pytest.mark.parametrize(
    "text",
    [
        BODY,  # ru: «вступит в силу с 1 марта 2027 года»
        "С 1 марта 2027 года вступит в силу закон о специальном статусе Алатау. Его приняли в январе.",
        "1 марта 2027 года вступит в силу закон о специальном статусе Алатау.",
        "В Алматы 24 января 2026 года прошло заседание комиссии по развитию Алатау.",
        # kk: the date is in the second sentence, and a locative «2026 жылғы 24 қаңтарда» opens a sentence
        "Мәжіліс Алатау туралы заң жобасын мақұлдады. Заң 2027 жылғы 1 наурыздан бастап күшіне енеді.",
        "2027 жылғы 1 наурызда заң күшіне енеді, деп хабарлады депутат.",
        # en
        "The law on the special status of Alatau will take effect on March 1, 2027, the Mazhilis said.",
        "Parliament passed the bill in first reading. It enters into force on 1 March 2027.",
    ],
)
def test_a_date_in_the_body_is_a_mention(text: str) -> None:
    assert split_markers(text).published is None
    assert find_dateline(text) is None


def test_marker_and_metadata_come_before_the_dateline() -> None:
    meta = split_markers("date 2026-01-25\n24 января 2026 года.\n" + BODY)
    assert meta.published == date(2026, 1, 25)
    assert meta.text.startswith("Мажилис")  # the dateline line is not part of the report


async def test_ingest_dates_by_dateline_and_not_by_a_mention(corpus: Corpus) -> None:
    mention = await corpus.ingest(TextInput(BODY, source="mention"))
    kk = await corpus.ingest(
        TextInput(
            "2026 жылғы 20 наурыз.\nПарламент палаталарының бірлескен отырысында Алатау қаласының арнаулы "
            "мәртебесі туралы конституциялық заң жобасы бірінші оқылымда мақұлданды. Заң 2027 жылғы 1 "
            "наурыздан бастап күшіне енеді.",
            source="kk",
        )
    )
    meta = await corpus.ingest(TextInput(BODY + " Подробности позже.", source="feed", date="2026-03-20"))
    published = {}
    for result in (mention, kk, meta):
        assert result.id is not None, result
        doc = await corpus.repo.get(result.id)
        assert doc is not None
        published[result.source] = doc.published
    # With no date the engine stores none: the upload layer gives a pasted text the day it was sent.
    assert published == {"mention": None, "kk": date(2026, 3, 20), "feed": date(2026, 3, 20)}


@pytest.mark.parametrize(
    ("word", "month"),
    [
        ("қаңтар", 1), ("қаңтарда", 1), ("ақпанның", 2), ("наурыздан", 3), ("сәуірде", 4), ("мамыр", 5),
        ("маусымда", 6), ("шілдеде", 7), ("тамызға", 8), ("қыркүйекте", 9), ("қазанда", 10), ("қараша", 11),
        ("желтоқсанда", 12), ("мая", 5), ("марта", 3), ("Sept.", 9), ("May", 5), ("ма", None), ("мамонт", None),
    ],
)  # fmt: skip
def test_kazakh_and_other_month_names(word: str, month: int | None) -> None:
    assert month_number(word) == month


def test_kazakh_dates_with_case_endings() -> None:
    assert parse_date("2026 жылғы 24 қаңтарда") == date(2026, 1, 24)
    assert parse_date("24 қаңтар 2026 ж.") == date(2026, 1, 24)
    assert parse_date("2025 жылғы 15-қыркүйек") == date(2025, 9, 15)
    assert find_date("Отырыс 2026 жылғы 3 ақпанда өтті") == date(2026, 2, 3)
    assert parse_date("31.02.2025") is None
    assert parse_date("2025-09-15T10:00:00") == date(2025, 9, 15)


def test_dateline_without_a_year_is_stripped_but_dates_nothing() -> None:
    found = read_dateline("SEOUL, Oct. 15 (AJP) - Kazakhstan opened a roadshow.")
    assert found is not None
    assert found.published is None
    assert (
        strip_dateline("ASTANA. KAZINFORM – Alatau City will get a status.")
        == "Alatau City will get a status."
    )
    assert strip_dateline("МФЦА — финансовый центр в Астане.") == "МФЦА — финансовый центр в Астане."


def test_dateline_stays_with_the_sentence_it_opens() -> None:
    text = "ASTANA. KAZINFORM – Alatau City will get a special status on Oct. 19, the Akorda said. It is new."
    assert [s for _, _, s in sentences(text)] == [
        "ASTANA. KAZINFORM – Alatau City will get a special status on Oct. 19, the Akorda said.",
        "It is new.",
    ]


def test_publication_stamp_above_or_under_the_text() -> None:
    top = split_markers(
        "Forbes Kazakhstan · 13 сентября 2025\nЮрий Цхай: Алатау построят на частные деньги\n" + BODY
    )
    assert top.published == date(2025, 9, 13)
    assert top.title == "Юрий Цхай: Алатау построят на частные деньги"  # the stamp is not the headline
    byline = split_markers(
        "By Staff Report in Nation on 24 December 2025\nASTANA – Architects presented a plan."
    )
    assert byline.published == date(2025, 12, 24)
    assert byline.text == "ASTANA – Architects presented a plan."
    under = split_markers(BODY + "\n\nОпубликовано: 21 марта 2026, 09:40")
    assert under.published == date(2026, 3, 21)
    assert under.text == BODY
    column = split_markers("Колонка читателя.\n" + BODY + "\n«Огни Алатау», 12 января 2024 г.")
    assert column.published == date(2024, 1, 12)


def test_a_headline_that_names_a_date_is_not_a_stamp() -> None:
    meta = split_markers("Закон об Алатау вступит в силу 1 марта 2027 года\n" + BODY)
    assert meta.title == "Закон об Алатау вступит в силу 1 марта 2027 года"
    assert meta.published is None


def test_a_relative_stamp_is_peeled_but_dates_nothing() -> None:
    meta = split_markers("Вчера, 15:10\n" + BODY)
    assert meta.published is None
    assert meta.title is None
    assert meta.text == BODY
