"""What a digest holds (cursor, topic filter, stories with all their sources) and how it is rendered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n

from bot.corpus.ingest import Corpus, TextInput
from bot.digests.builder import (
    FIRST_DIGEST_STORIES,
    DigestBuilder,
    DigestContent,
    DigestSource,
    DigestStory,
    stories_from_json,
    stories_to_json,
)
from bot.i18n import make_i18n
from bot.search import SearchService
from emulator import parse_text
from handlers.subscriptions.digest_render import DigestRenderer, preview_text, render_page, tg_length
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE, ENGLISH, HTMLISH, KAZAKH

STORIES = Path(__file__).parents[1] / "fixtures" / "stories"


@pytest.fixture
def builder(search: SearchService) -> DigestBuilder:
    return DigestBuilder(search)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return make_i18n("en")


@pytest.fixture
def english(i18n: I18n) -> Iterator[None]:
    with i18n.context(), i18n.use_locale("en"):
        yield


async def _ingest(corpus: Corpus, *texts: str, source_name: str | None = None) -> list[int]:
    ids = []
    for text in texts:
        result = await corpus.ingest(TextInput(text, source="t", source_name=source_name))
        assert result.id is not None, result
        ids.append(result.id)
    return ids


async def test_a_new_subscriber_starts_with_the_newest_stories_by_publication_date(
    corpus: Corpus, builder: DigestBuilder
) -> None:
    # Uploaded newest-published first: the texts uploaded last are the oldest news.
    htmlish, airport, council, crypto, *_ = await _ingest(
        corpus, HTMLISH, AIRPORT, COUNCIL, CRYPTO, DECREE, ENGLISH, KAZAKH
    )
    start = await builder.start_cursor()
    assert start == await builder.latest_id()  # nothing old counts as new...
    content = await builder.build(start, "", "ru", first=True)  # ...but the first digest has the newest
    assert len(content.stories) == FIRST_DIGEST_STORIES
    published = [s.published for s in content.stories]
    assert published == sorted(published, key=lambda d: d or date.min, reverse=True)
    assert [s.sources[0].doc_id for s in content.stories[:4]] == [htmlish, airport, council, crypto]
    assert content.cursor_to == await builder.latest_id()
    # From the new cursor on, nothing is new: an empty digest (which is never sent).
    again = await builder.build(content.cursor_to, "", "ru")
    assert again.empty and again.cursor_to == content.cursor_to
    # A new text is the whole of the next digest.
    (new_id,) = await _ingest(corpus, AIRPORT.replace("date 2025-12-05", "date 2026-03-01") + " Трамвай.")
    later = await builder.build(content.cursor_to, "", "ru")
    assert new_id in [s.doc_id for story in later.stories for s in story.sources]
    assert crypto not in [s.doc_id for story in later.stories for s in story.sources]


async def test_a_story_counts_all_its_reports(corpus: Corpus, builder: DigestBuilder) -> None:
    decree = [
        (STORIES / f"decree__{name}.txt").read_text(encoding="utf-8")
        for name in ("alatau-times", "alatau-zhanalyqtary", "dala-news", "steppe-post", "zhetysu-info")
    ]
    reports = [(await _ingest(corpus, text, source_name=f"outlet{n}"))[0] for n, text in enumerate(decree)]
    # Later uploads: most of the decree's reports are no longer among the five uploaded last.
    await _ingest(corpus, CRYPTO, COUNCIL, AIRPORT)
    content = await builder.build(await builder.start_cursor(), "", "ru", first=True)
    (story,) = [s for s in content.stories if set(reports) & {src.doc_id for src in s.sources}]
    assert {src.doc_id for src in story.sources} == set(reports)  # five reports: five sources
    # A new report of it later: the next digest's story says all of them, the new one first.
    cursor = content.cursor_to
    (extra,) = await _ingest(corpus, decree[0].replace("date 2025-09-05", "date 2025-09-08") + " Дополнение.")
    later = await builder.build(cursor, "", "ru")
    (again,) = later.stories
    if again.story_id is not None:
        assert again.sources[0].doc_id == extra and len(again.sources) >= 6


async def test_hidden_texts_stay_out(corpus: Corpus, builder: DigestBuilder) -> None:
    crypto, airport = await _ingest(corpus, CRYPTO, AIRPORT)
    doc = await corpus.repo.get(airport)
    assert doc is not None
    await corpus.repo.set_hidden(airport, True, "", "")
    content = await builder.build(0, "", "ru")
    assert [s.doc_id for story in content.stories for s in story.sources] == [crypto]


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        # The decree says «криптовалютой», the crypto report «криптовалют», «криптовалюту».
        ("криптовалюта", {"decree", "crypto"}),
        ("криптовалюта -указ", {"crypto"}),
        ("криптовалюта, аэропорт", {"decree", "crypto", "airport"}),  # keywords are alternatives
        ('"правовой режим"', {"decree"}),
        ("крипто*", {"decree", "crypto"}),
        ("-аэропорт", {"decree", "crypto", "council"}),  # only exclusions: everything else
        ("футбол", set()),
    ],
)
async def test_topic_filter_uses_the_search_morphology(
    corpus: Corpus, builder: DigestBuilder, topic: str, expected: set[str]
) -> None:
    ids = dict(
        zip(
            ["decree", "crypto", "council", "airport"],
            await _ingest(corpus, DECREE, CRYPTO, COUNCIL, AIRPORT),
            strict=True,
        )
    )
    content = await builder.build(0, topic, "ru")
    got = {s.doc_id for story in content.stories for s in story.sources}
    assert got == {ids[name] for name in expected}
    assert content.considered == 4 and content.matched == len(expected)
    # The cursor moves past what was filtered out too: it is not offered again.
    assert content.cursor_to == max(ids.values())


async def test_one_item_per_story_with_every_source(corpus: Corpus, builder: DigestBuilder) -> None:
    # The council's first meeting: two reports and a near-verbatim republication, plus single reports.
    names = [
        "council__alatau-times",
        "council__dala-news",
        "council__qaz-region",
        "airport__alatau-times",
        "railway__zhetysu-info",
    ]
    ids: dict[str, int] = {}
    for name in names:
        result = await corpus.ingest(
            TextInput(
                (STORIES / f"{name}.txt").read_text(encoding="utf-8"),
                source=name,
                source_name=name.split("__")[1],
            )
        )
        assert result.id is not None
        ids[name] = result.id
    content = await builder.build(0, "", "ru")
    council = [s for s in content.stories if {src.doc_id for src in s.sources} & {ids[n] for n in names[:3]}]
    assert len(council) == 1, [s.title for s in content.stories]
    assert {src.doc_id for src in council[0].sources} == {ids[n] for n in names[:3]}
    assert {src.name for src in council[0].sources} == {"alatau-times", "dala-news", "qaz-region"}
    # The most widely reported story comes first.
    assert content.stories[0] is council[0]
    assert len(content.stories) == 3


def test_stories_survive_the_database_round_trip() -> None:
    stories = (
        DigestStory(
            "Заголовок",
            "Строка.",
            7,
            date(2025, 9, 6),
            (DigestSource(1, "outlet", "https://a.kz/1"), DigestSource(2, "", None)),
        ),
        DigestStory("Title", "Line.", None, None, ()),
    )
    assert stories_from_json(stories_to_json(stories)) == stories
    assert json.loads(stories_to_json(stories))[0]["sources"][1] == [2, "", None]


# -- rendering ---------------------------------------------------------------------------------------------


def _story(n: int, sources: int = 3, words: int = 20) -> DigestStory:
    line = " ".join(f"слово{n}_{i}" for i in range(words)) + "."
    return DigestStory(
        title=f"Новость номер {n} <о важном> & не очень",
        line=line,
        story_id=n,
        published=date(2025, 11, 1),
        sources=tuple(
            DigestSource(n * 100 + i, f"outlet-{i}", f'https://news{i}.kz/a?id={n}&x="q"')
            for i in range(sources)
        ),
    )


def _content(stories: tuple[DigestStory, ...], topic: str = "") -> DigestContent:
    return DigestContent(0, 99, topic, "en", stories, considered=len(stories), matched=len(stories))


def _visible(html_text: str) -> str:
    return parse_text(html_text, "HTML", strict_html=True).text


def test_a_long_digest_fits_and_the_rest_is_behind_a_button(english: None, i18n: I18n) -> None:
    stories = tuple(_story(n) for n in range(40))
    rendered = DigestRenderer(i18n)(17, _content(stories), "en", "alatau_bot")
    assert tg_length(rendered.text) <= 4096
    visible = _visible(rendered.text)  # valid HTML: Telegram would accept it
    assert rendered.reply_markup is not None
    button = json.loads(rendered.reply_markup)["inline_keyboard"][0][0]
    assert button["callback_data"].startswith("dg:17:")
    start = int(button["callback_data"].split(":")[2])
    assert 0 < start < 40
    assert str(40 - start) in button["text"]
    # Whole stories only: every story on this page is there with its full line, and the next one is absent.
    for story in stories[:start]:
        assert story.line in visible
    assert stories[start].line.split()[0] not in visible


def test_the_pages_cover_every_story_once(english: None) -> None:
    stories = tuple(_story(n, sources=12) for n in range(60))
    start, seen, pages = 0, [], 0
    while start < len(stories):
        text, end = render_page(stories, start, "криптовалюта", "alatau_bot")
        assert tg_length(text) <= 4096 and end > start
        visible = _visible(text)
        seen += [n for n in range(start, end) if stories[n].line in visible]
        start, pages = end, pages + 1
    assert seen == list(range(60)) and pages > 2


def test_sources_are_links_and_text_is_escaped(english: None, i18n: I18n) -> None:
    story = DigestStory(
        title='<script>alert("x")</script>',
        line="A & B <b>not bold</b>.",
        story_id=1,
        published=None,
        sources=(
            DigestSource(5, "Dala <News>", 'https://dala.kz/a?b=1&c="2"'),
            DigestSource(6, "", None),
            DigestSource(7, "evil", "javascript:alert(1)"),
        ),
    )
    rendered = DigestRenderer(i18n)(1, _content((story,), topic="<i>x</i>"), "en", "alatau_bot")
    parsed = parse_text(rendered.text, "HTML", strict_html=True)
    assert '<script>alert("x")</script>' in parsed.text
    assert "A & B <b>not bold</b>." in parsed.text
    assert "3 sources" in parsed.text
    links = [e["url"] for e in parsed.entities_api() if e["type"] == "text_link"]
    # A source without an address, or with an address that is not a web page, opens its card in the bot.
    assert links == [
        'https://dala.kz/a?b=1&c="2"',
        "https://t.me/alatau_bot?start=doc_6",
        "https://t.me/alatau_bot?start=doc_7",
        # The footer: the reader's settings and unsubscribing, as deep links.
        "https://t.me/alatau_bot?start=sub_settings",
        "https://t.me/alatau_bot?start=sub_stop",
    ]
    assert rendered.reply_markup is None


def test_a_story_with_very_many_sources_still_fits(english: None) -> None:
    long_urls = DigestStory(
        "T",
        "L.",
        1,
        None,
        tuple(DigestSource(i, f"outlet {i}", "https://x.kz/" + "a" * 490) for i in range(50)),
    )
    text, end = render_page((long_urls,), 0, "", "bot")
    assert end == 1 and tg_length(text) <= 4096
    assert "and " in _visible(text)  # the links that did not fit are counted


def test_preview_says_how_many_more(english: None) -> None:
    stories = tuple(_story(n) for n in range(40))
    text = preview_text(_content(stories), "@channel", "bot")
    assert tg_length(text) <= 4096
    assert "more stories" in _visible(text)
