"""The reader's bot end to end: the real Dispatcher polling the Bot API emulator over HTTP."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiogram.dispatcher.event.handler import CallableObject

from bot.app.playground import LocalBot
from bot.corpus.ingest import TextInput
from emulator import EmulatedUser, FaultKind
from tests.corpus_texts import ALL
from tests.e2e.helpers import StartBot, button, entity_text, ingest, press, say

pytestmark = pytest.mark.timeout(60)


def _news(i: int) -> str:
    return (
        f"date 2025-{10 + i // 28:02d}-{i % 28 + 1:02d}\nНовость номер {i} о развитии Алатау\n"
        f"В Алатау обсудили проект номер {i}. Власти города рассказали о строительстве и инвестициях. "
        "Жители Алатау смогут оценить изменения уже в следующем году, отметили в акимате."
    )


@pytest.fixture
async def local(start_bot: StartBot) -> LocalBot:
    running = await start_bot()
    await ingest(running, *ALL, *(_news(i) for i in range(30)))
    return running


@pytest.fixture
def reader(local: LocalBot) -> EmulatedUser:
    return local.emulator.create_user("Айгерим", id=501, language_code="ru", started=True)


async def test_start_menu_and_commands(local: LocalBot, reader: EmulatedUser) -> None:
    reply = await say(reader, "/start")
    assert "Айгерим" in (reply.text or "")
    assert len([b for b in reply.buttons if str(b.get("callback_data", "")).startswith("m:")]) == 4
    # The command menu is set per interface language at start-up.
    langs = {c.params.get("language_code") for c in local.emulator.calls_to("setMyCommands")}
    assert {"ru", "kk", "en"} <= langs


async def test_search_pages_cards_and_full_text(local: LocalBot, reader: EmulatedUser) -> None:
    results = await say(reader, "Алатау")
    assert "<b>" in (results.raw_text or "")
    first_page = results.text
    numbers = [b for b in results.buttons if str(b.get("callback_data", "")).startswith("d:")]
    assert len(numbers) == 5
    # Next edits the same message, and Prev brings the first page back.
    await press(reader, results, button(results, "p:s:"))
    page2 = await reader.chat.wait_for_edit(results, timeout=10)
    assert page2.text != first_page
    assert "6." in (page2.text or "")
    await press(reader, page2, button(page2, "p:s:", 0))
    page1 = await reader.chat.wait_for_edit(results, timeout=10)
    assert page1.text == first_page
    # A result opens as a card in place, with full text, similar and back.
    await press(reader, page1, button(page1, "d:"))
    card = await reader.chat.wait_for_edit(results, timeout=10)
    assert {d[:2] for d in (str(b.get("callback_data")) for b in card.buttons)} >= {"f:", "si", "p:"}
    await press(reader, card, button(card, "f:"))
    full = await reader.chat.wait_for_message(timeout=10)
    assert full.text
    back_data = button(card, "p:s:")
    await press(reader, card, back_data)
    back = await reader.chat.wait_for_edit(results, timeout=10)
    assert back.text == first_page


async def test_morphology_and_snippet_bold(local: LocalBot, reader: EmulatedUser) -> None:
    results = await say(reader, "/search криптовалюта")
    bold = [e for e in results.entities if e["type"] == "bold"]
    words = {entity_text(results, e) for e in bold}
    assert {"криптовалютой", "криптовалюту"} & words


async def test_nothing_found_and_suggestion(local: LocalBot, reader: EmulatedUser) -> None:
    nothing = await say(reader, "zzzqqq")
    assert not nothing.buttons
    corrected = await say(reader, "Токкаев")
    assert "токаев" in (corrected.text or "").lower()
    assert corrected.buttons


async def test_html_in_corpus_is_escaped(local: LocalBot, reader: EmulatedUser) -> None:
    # The emulator rejects malformed HTML as Telegram does: the reply arriving at all proves the escaping.
    reply = await say(reader, "атаки")
    assert '<script>alert("x")</script>' in (reply.text or "")


async def test_long_text_is_split_or_sent_as_file(local: LocalBot, reader: EmulatedUser) -> None:
    paragraph = "Алатау строит новый квартал с парками и школами, заявили в акимате города. " * 40
    long_text = "date 2025-12-20\nОгромный материал про кварталы Алатау\n" + "\n\n".join([paragraph] * 6)
    medium = "date 2025-12-21\nСредний материал про набережные Алатау\n" + "\n\n".join(
        ["Набережная Алатау получит велодорожки и освещение, пояснили в акимате. " * 30] * 2
    )
    corpus = local.services.corpus
    big = await corpus.ingest(TextInput(long_text, source="big"))
    mid = await corpus.ingest(TextInput(medium, source="mid"))
    assert big.id is not None
    assert mid.id is not None
    card = await say(reader, f"/start doc_{mid.id}")
    await press(reader, card, button(card, "f:"))
    await reader.chat.wait_for_messages(2, timeout=10)
    parts = reader.chat.bot_messages[-2:]
    assert all(p.text and len(p.text) <= 4096 for p in parts)
    # Chunks end at a word boundary: joined back they are the whole text.
    assert "".join(p.text or "" for p in parts).replace(" ", "").replace("\n", "") == medium.split("\n", 2)[
        2
    ].replace(" ", "").replace("\n", "")
    card = await say(reader, f"/start doc_{big.id}")
    await press(reader, card, button(card, "f:"))
    doc = await reader.chat.wait_for_message(timeout=10)
    assert doc.document_name == f"alatau-{big.id}.txt"
    assert "Огромный материал" in (doc.document_bytes or b"").decode("utf-8")


async def test_latest_and_summary(local: LocalBot, reader: EmulatedUser) -> None:
    latest = await say(reader, "/latest")
    assert "Новость номер 29" in (latest.text or "")
    overview = await say(reader, "/summary")
    links = [e for e in overview.entities if e["type"] == "text_link"]
    assert links
    assert all("start=doc_" in e["url"] for e in links)


async def test_deep_link_opens_card_and_unknown_doc_is_polite(local: LocalBot, reader: EmulatedUser) -> None:
    card = await say(reader, "/start doc_1")
    assert card.buttons
    missing = await say(reader, "/start doc_99999")
    assert not missing.buttons


async def test_outdated_list_button_answers_politely(local: LocalBot, reader: EmulatedUser) -> None:
    results = await say(reader, "Алатау")
    await local.services.db.conn.execute("DELETE FROM saved_queries")
    answer = await press(reader, results, button(results, "p:s:"))
    assert answer.text
    assert answer.show_alert


async def test_language_choice_is_stored(local: LocalBot, reader: EmulatedUser) -> None:
    russian = await say(reader, "/help")
    menu = await say(reader, "/lang")
    await press(reader, menu, "lang:en")
    await reader.chat.wait_for_message(timeout=10)
    english = await say(reader, "/help")
    assert english.text != russian.text
    assert "How to search" in (english.text or "")
    stored = await local.services.db.scalar("SELECT language FROM users WHERE user_id = ?", (reader.id,))
    assert stored == "en"


async def test_telegram_language_is_the_default(local: LocalBot) -> None:
    english = local.emulator.create_user("John", id=777, language_code="en", started=True)
    kazakh = local.emulator.create_user("Асқар", id=778, language_code="kk", started=True)
    german = local.emulator.create_user("Hans", id=779, language_code="de", started=True)
    texts = [(await say(u, "/help")).text for u in (english, kazakh, german)]
    assert len(set(texts)) == 3
    russian = local.emulator.create_user("Иван", id=780, language_code="ru", started=True)
    assert (await say(russian, "/help")).text == texts[2]


async def test_inline_mode_pages_and_latest(local: LocalBot, reader: EmulatedUser) -> None:
    query = await reader.inline_query("Алатау")
    answer = await query.wait_answer(timeout=10)
    assert len(answer.results) == 20
    assert answer.next_offset == "20"
    more = await (await reader.inline_query("Алатау", offset=answer.next_offset)).wait_answer(timeout=10)
    assert more.results
    assert {r["id"] for r in more.results}.isdisjoint({r["id"] for r in answer.results})
    latest = await (await reader.inline_query("")).wait_answer(timeout=10)
    assert latest.results
    content = latest.results[0]["input_message_content"]["message_text"]
    assert "<b>" in content


async def test_flood_gets_one_polite_warning(start_bot: StartBot) -> None:
    running = await start_bot(throttle_rate=0.5, load_sample=True)
    user = running.emulator.create_user("Флудер", id=900, language_code="ru", started=True)
    for _ in range(25):
        await user.send_text("/help")
    await running.emulator.wait_idle(timeout=10, quiet=0.3)
    replies = [m.text or "" for m in user.chat.bot_messages]
    helps = [t for t in replies if "/latest" in t]
    warnings = [t for t in replies if "/latest" not in t]
    assert 1 <= len(helps) < 25
    assert len(warnings) == 1


async def test_a_crash_gets_an_apology_and_a_logged_traceback(
    local: LocalBot, reader: EmulatedUser, caplog: pytest.LogCaptureFixture
) -> None:
    await local.services.db.conn.execute("DROP TABLE doc_fts")
    with caplog.at_level(logging.ERROR):
        reply = await say(reader, "Алатау")
    assert reply.text
    assert "Traceback" not in (reply.text or "")
    assert any(r.exc_info for r in caplog.records if "failed" in r.getMessage())


async def test_a_failed_button_gets_the_apology_as_its_answer(
    local: LocalBot, reader: EmulatedUser, caplog: pytest.LogCaptureFixture
) -> None:
    results = await say(reader, "Алатау")
    await local.services.db.conn.execute("DROP TABLE saved_queries")
    with caplog.at_level(logging.ERROR):
        answer = await press(reader, results, button(results, "p:s:"))
    # A press is answered once: by the error handler's apology, not by an empty automatic answer first.
    assert answer.show_alert
    assert answer.text
    assert any(r.exc_info for r in caplog.records if "failed" in r.getMessage())


async def test_telegram_5xx_is_survived(local: LocalBot, reader: EmulatedUser) -> None:
    local.emulator.inject(FaultKind.SERVER_ERROR, method="sendMessage", chat=reader.chat.id, times=1)
    apology = await say(reader, "/help")
    assert apology.text
    # The bot is still alive and answers the next message normally.
    again = await say(reader, "/help")
    assert "/latest" in (again.text or "")


async def test_admin_menu_is_set_on_first_contact(start_bot: StartBot) -> None:
    running = await start_bot(admin_ids=frozenset({4242}), load_sample=True)
    # At start-up the admin had never talked to the bot: Telegram refused the menu.
    admin = running.emulator.create_user("Админ", id=4242, language_code="ru", started=True)
    reader = running.emulator.create_user("Читатель", id=4343, language_code="ru", started=True)
    assert "add" not in {c["command"] for c in running.emulator.visible_commands(admin.chat, admin)}
    await say(admin, "/start")
    await say(reader, "/start")
    admin_menu = {c["command"] for c in running.emulator.visible_commands(admin.chat, admin)}
    reader_menu = {c["command"] for c in running.emulator.visible_commands(reader.chat, reader)}
    assert {"add", "docs", "stats", "log", "latest"} <= admin_menu
    assert "add" not in reader_menu
    assert "latest" in reader_menu


async def test_a_readers_updates_run_no_filter_in_a_thread(
    local: LocalBot, reader: EmulatedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiogram runs a synchronous filter or handler (a magic filter, a bare FSM State) in a worker thread:
    # a thread hop per update on the busiest path.
    synchronous: list[object] = []
    call = CallableObject.call

    async def recording(self: CallableObject, *args: Any, **kwargs: Any) -> Any:
        if not self.awaitable:
            synchronous.append(self.callback)
        return await call(self, *args, **kwargs)

    monkeypatch.setattr(CallableObject, "call", recording)
    results = await say(reader, "Алатау")
    await press(reader, results, button(results, "p:s:"))
    await reader.chat.wait_for_edit(results, timeout=10)
    await say(reader, "/help")
    assert (await (await reader.inline_query("Алатау")).wait_answer(timeout=10)).results
    assert synchronous == []
