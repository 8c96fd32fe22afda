"""A story's headline is the original report of the event, not a reaction to it or a republication."""

from __future__ import annotations

from datetime import date, datetime

from bot.summaries import representative
from storage.models import Document

DECISION = (
    "Правительство утвердило новые правила субсидирования фермеров. Постановление подписано сегодня, "
    "субсидии фермерам будут выплачиваться ежеквартально по новым правилам."
)
REACTION = (
    "Эксперт прокомментировал решение правительства о субсидиях. По мнению аналитика, новые правила "
    "помогут не всем."
)


def _doc(doc_id: int, title: str, text: str, day: date | None, duplicate_of: int | None = None) -> Document:
    now = datetime(2026, 1, 1)
    return Document(
        id=doc_id,
        title=title,
        text=text,
        url=None,
        source_name=f"source{doc_id}",
        published=day,
        lang="ru",
        content_hash=str(doc_id),
        duplicate_of=duplicate_of,
        story_id=1,
        hidden=False,
        created_at=now,
        updated_at=now,
    )


def test_reaction_saved_first_does_not_headline_the_story() -> None:
    day = date(2026, 3, 2)
    reaction = _doc(1, "Эксперт прокомментировал решение о субсидиях", REACTION, day)
    decision = _doc(2, "Правительство утвердило новые правила субсидирования фермеров", DECISION, day)
    retold = _doc(
        3,
        "Фермерам будут выплачивать субсидии по новым правилам",
        "Новые правила субсидирования фермеров утвердило правительство; субсидии будут ежеквартальными.",
        date(2026, 3, 3),
    )
    assert representative([reaction, decision, retold]).id == 2
    assert representative([reaction, decision]).id == 2


def test_republication_never_headlines_when_its_original_is_in_the_story() -> None:
    day = date(2026, 3, 2)
    copy = _doc(
        1, "Правительство утвердило новые правила субсидирования фермеров", DECISION, day, duplicate_of=2
    )
    original = _doc(2, "Правительство утвердило новые правила субсидирования фермеров", DECISION, day)
    assert representative([copy, original]).id == 2
    # Its original outside the story (not loaded): the republication may stand for it.
    assert representative([copy]).id == 1


def test_the_earliest_day_still_comes_first_and_undated_stories_use_all_reports() -> None:
    early = _doc(5, "Эксперт прокомментировал решение о субсидиях", REACTION, date(2026, 3, 1))
    late = _doc(
        2, "Правительство утвердило новые правила субсидирования фермеров", DECISION, date(2026, 3, 2)
    )
    assert representative([late, early]).id == 5
    undated = [_doc(1, early.title, REACTION, None), _doc(2, late.title, DECISION, None)]
    assert representative(undated).id == 2
