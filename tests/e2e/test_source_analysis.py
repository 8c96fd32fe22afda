"""A big poll is analysed in the worker process, not on the bot's event loop (issue 13, leftover).

Ordering, not timing: while a feed's huge article is being analysed, a reader's search is answered before
any item of the poll is stored. Analysed on the loop, the reader would wait for the whole analysis (well over
a second for two million characters) and the first item would be stored before the answer went out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from xml.sax.saxutils import escape

import pytest

from bot.app.playground import LocalBot
from bot.corpus.ingest import Analysis, TextInput
from bot.sources.analysis import WORKER_CHARS, PassAnalysis
from tests.e2e.helpers import REPLY_TIMEOUT, StartBot, ingest
from tests.sources_server import SourcesServer

READER = 6101
NEWS = (
    "В Алатау открыли ледовую арену на тысячу зрителей. Хоккейные секции для детей будут бесплатными, "
    "сообщили в акимате; строительство арены заняло полтора года."
)
_SYLLABLES = ["ка", "ла", "ме", "но", "ри", "ту", "са", "ве", "до", "жи", "ны", "пре", "стро", "ско", "зем"]
_ENDINGS = ["ами", "ого", "ему", "ая", "ые", "ов", "ой", "ах", "ить", "ает"]


def long_text(rng: random.Random, chars: int) -> str:
    """Made-up words: each one is new to the morphology, as most words of a long article are."""
    sentences: list[str] = []
    size = 0
    while size < chars:
        words = (
            "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) + rng.choice(_ENDINGS)
            for _ in range(12)
        )
        sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences)


def big_feed(chars: int) -> str:
    rng = random.Random(13)
    items = [
        ("Огромный отчёт акимата", long_text(rng, chars)),
        ("Второй огромный отчёт", long_text(rng, chars)),
        ("Короткая заметка о дорогах", "Ремонт дорог в Алатау завершат к осени. " + long_text(rng, 3000)),
    ]
    entries = "".join(
        f"<item><title>{escape(title)}</title><guid>item-{n}</guid>"
        f"<pubDate>Mon, 01 Dec 2025 10:0{n}:00 +0000</pubDate><description>{escape(text)}</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big Outlet</title>'
        f"<link>http://outlet.example/</link>{entries}</channel></rss>"
    )


async def test_a_reader_is_answered_while_a_big_poll_is_analysed(
    start_bot: StartBot, sources_server: SourcesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chars = 800_000
    assert chars > WORKER_CHARS
    local: LocalBot = await start_bot(
        sources_enabled=False, sources_host_delay_seconds=0.0, max_text_chars=chars + 100_000
    )
    reader = local.emulator.create_user("Reader", id=READER, language_code="en", started=True)
    await ingest(local, NEWS)
    sources_server.route("/big.xml", big_feed(chars), content_type="application/rss+xml; charset=utf-8")
    source = await local.services.sources.add(sources_server.url("/big.xml"))
    events: list[str] = []
    local.services.corpus.on_saved.append(lambda ids: events.append("stored"))

    # From the moment the poll hands its texts over to be analysed, the reader asks.
    handed_over = asyncio.Event()
    analyse = PassAnalysis.analyse

    async def analyse_and_tell(
        self: PassAnalysis, texts: Sequence[TextInput]
    ) -> AsyncIterator[tuple[TextInput, Analysis | Exception]]:
        handed_over.set()
        async for pair in analyse(self, texts):
            yield pair

    monkeypatch.setattr(PassAnalysis, "analyse", analyse_and_tell)
    poll = asyncio.create_task(local.services.sources.poll_one(source.id))
    await asyncio.wait_for(handed_over.wait(), timeout=120)
    await reader.send_text("ледовая арена")
    answer = await reader.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    events.append("reader answered")
    report = await asyncio.wait_for(poll, timeout=120)

    assert "арен" in (answer.text or "")
    assert events[0] == "reader answered", events
    assert not report.failed and [a.title for a in report.added] == [
        "Огромный отчёт акимата",
        "Второй огромный отчёт",
        "Короткая заметка о дорогах",
    ]
    assert (await local.services.search.search("ремонт дорог")).hits
