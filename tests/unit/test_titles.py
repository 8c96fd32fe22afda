"""Derived titles: a sentence that stands alone — never a dateline, a byline or a sentence that points back."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.text.normalize import make_title, split_markers

SAMPLE = Path(__file__).parents[2] / "bot" / "corpus" / "sample" / "alatau-special-regimes-2026-01-24.txt"


def _title(raw: str) -> str:
    meta = split_markers(raw)
    return meta.title or make_title(meta.text)


def test_sample_title_does_not_start_with_a_pronoun() -> None:
    title = _title(SAMPLE.read_text(encoding="utf-8"))
    assert title.startswith("Указом Президента городу Алатау уже придан статус города опережающего развития")
    assert len(title) <= 120


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "24 января 2026 года.\nПремьер-министр Олжас Бектенов провел заседание Совета по развитию Алатау. "
            "Он поручил ускорить работу проектного офиса.",
            "Премьер-министр Олжас Бектенов провел заседание Совета по развитию Алатау",
        ),
        (
            "2026 жылғы 24 қаңтар\nҮкімет басшысы Алатау қаласын дамыту жөніндегі кеңестің отырысын өткізді.",
            "Үкімет басшысы Алатау қаласын дамыту жөніндегі кеңестің отырысын өткізді",
        ),
        (
            "АСТАНА, 24 января 2026 года — Премьер-министр провел заседание Совета по развитию Алатау.",
            "Премьер-министр провел заседание Совета по развитию Алатау",
        ),
        (
            "ASTANA, March 3, 2026 – Deputy Prime Minister Kanat Bozumbayev inspected Gate District. He urged "
            "investors to speed up the Iconic Building.",
            "Deputy Prime Minister Kanat Bozumbayev inspected Gate District",
        ),
        (
            "ASTANA. KAZINFORM – Alatau City will receive a special legal status, Kazinform News Agency reports.",
            "Alatau City will receive a special legal status",
        ),
    ],
)
def test_title_is_never_a_dateline(raw: str, expected: str) -> None:
    assert _title(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "Он напомнил, что указом Президента Алатау придан статус города опережающего развития.",
            "Указом Президента Алатау придан статус города опережающего развития",
        ),
        (
            "По его словам, проектный офис при Правительстве начнет работу в декабре.",
            "Проектный офис при Правительстве начнет работу в декабре",
        ),
        (
            "Об этом сообщил министр национальной экономики. Вице-министр Жандос Шаймарденов представил проект "
            "Алатау на Астанинском международном форуме.",
            "Вице-министр Жандос Шаймарденов представил проект Алатау на Астанинском международном форуме",
        ),
        (
            "При этом сроки могут измениться. Строительство первой школы в Gate City начнется весной.",
            "Строительство первой школы в Gate City начнется весной",
        ),
        (
            "Ол Алатау туралы айтты. Бұл туралы Ақорда хабарлады. Алатау қаласында жаңа мектеп салынады.",
            "Алатау қаласында жаңа мектеп салынады",
        ),
        (
            "He said the city would be built with private money. This was reported by Kazinform. "
            "Developer Yuri Tskhay will hold a roadshow in Korea in October.",
            "The city would be built with private money",
        ),
        (
            "This was reported by Kazinform. Developer Yuri Tskhay will hold a roadshow in Korea in October.",
            "Developer Yuri Tskhay will hold a roadshow in Korea in October",
        ),
    ],
)
def test_title_never_points_back(raw: str, expected: str) -> None:
    assert _title(raw) == expected


def test_byline_and_credit_are_not_titles() -> None:
    raw = (
        "Автор: Айжан Абилова\n"
        "Фото: пресс-служба акимата\n"
        "Первый заместитель акима области подписал меморандум с BI Group о строительстве Gate City. "
        "Жилье появится на участке площадью 100 гектаров."
    )
    meta = split_markers(raw)
    assert meta.title is None
    assert meta.text.startswith("Первый заместитель")  # the byline and the credit are not the report
    assert make_title(meta.text).startswith("Первый заместитель акима области подписал меморандум")


def test_headline_line_is_kept_and_the_dateline_under_it_read() -> None:
    meta = split_markers(
        "Алатау получит особый статус\n24 января 2026 года\nПрезидент подписал указ об этом."
    )
    assert meta.title == "Алатау получит особый статус"
    assert meta.text == "Президент подписал указ об этом."
    assert str(meta.published) == "2026-01-24"


def test_long_title_is_cut_at_a_word_boundary() -> None:
    text = (
        "Премьер-министр Олжас Бектенов ознакомился с архитектурной концепцией города Алатау, проектами "
        "жилых кварталов, общественных пространств и деловых центров, разработанными с учетом дизайн-кода."
    )
    title = make_title(text, limit=80)
    assert len(title) <= 81
    assert title.endswith("…")
    assert text.startswith(title[:-1])
    assert not title[:-1].endswith((" ", ","))
