"""A source's filter decides on a text before it is stored, as a search for it would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.corpus.ingest import Corpus, TextInput
from bot.search import SearchService
from bot.sources.filters import alternatives_of, compile_topic
from bot.sources.service import MAX_BACKOFF, backoff, channel_name, feed_address

FIRE = (
    "В Алатау объявили режим ЧС из-за пожара на полигоне. Акимат ввёл режим чрезвычайной ситуации "
    "местного масштаба: тлеет полигон у села Али."
)
SEZ = (
    "Special economic zone renamed SEZ Alatau. The special economic zone created north of Almaty now "
    "covers about 96,500 hectares."
)
SCHOOL = "Аким Алатау рассказал жителям о строительстве новой школы в микрорайоне. Реклама в конце."


async def passes(search: SearchService, corpus: Corpus, topic_text: str, text: str) -> bool:
    topic = await compile_topic(search, topic_text)
    prepared = await corpus.prepare(TextInput(text))
    return topic.everything or topic.matches(prepared.title_terms, prepared.body_terms)


@pytest.mark.parametrize(
    ("topic", "fire", "sez", "school"),
    [
        ("", True, True, True),
        ("пожары", True, False, False),  # any form of the word
        ("Алатау OR Alatau", True, True, True),
        ("Алатау", True, False, True),  # a fresh corpus knows no other spelling of it
        ("пожар | школа", True, False, True),
        ("Алатау -реклама", True, False, False),
        ("Алатау школа", False, False, True),  # within one alternative, every word
        ('"special economic zone"', False, True, False),
        ('"economic special zone"', False, False, False),  # a phrase in its order
        ("-пожар", False, True, True),  # exclusions only: everything else
        ("школ*", False, False, True),
    ],
)
async def test_a_filter_keeps_what_a_search_would_find(
    search: SearchService, corpus: Corpus, topic: str, fire: bool, sez: bool, school: bool
) -> None:
    got = [await passes(search, corpus, topic, text) for text in (FIRE, SEZ, SCHOOL)]
    assert got == [fire, sez, school]


def test_alternatives_are_split_at_or() -> None:
    assert alternatives_of("Алатау OR Alatau") == ["Алатау", "Alatau"]
    assert alternatives_of("a|b  OR  c") == ["a", "b", "c"]
    assert alternatives_of("ORLEANS or x") == ["ORLEANS or x"], "only a standalone upper-case OR"


def test_backoff_doubles_up_to_its_cap() -> None:
    interval = timedelta(minutes=15)
    assert [backoff(interval, n) for n in (0, 1, 2, 3)] == [interval, interval, 2 * interval, 4 * interval]
    assert backoff(interval, 50) == MAX_BACKOFF
    assert backoff(timedelta(hours=12), 3) == timedelta(hours=12), "never shorter than the interval"


def test_addresses() -> None:
    assert channel_name("@alatau_news") == "@alatau_news"
    assert channel_name("https://t.me/alatau_news") == "@alatau_news"
    assert channel_name("t.me/alatau_news/") == "@alatau_news"
    assert channel_name("https://example.kz/rss") is None
    assert feed_address(" https://example.kz/rss ") == "https://example.kz/rss"
    assert feed_address("ftp://example.kz/rss") is None
    assert feed_address("example.kz/rss") is None
