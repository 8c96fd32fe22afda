"""The admin's screens end to end: an undo that survives navigation, /help with the admin commands, admin
buttons on every card (deep links too), near-duplicates on cards and in reports, the upload prompt, /stats in
the admin's language, and metadata edits that leave the overview of the latest news alone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.admin.chart import ChartLabels, chart_figure
from bot.app.playground import LocalBot
from emulator import EmulatedUser, StoredMessage
from tests.corpus_texts import ALL, COUNCIL, CRYPTO, DECREE
from tests.e2e.helpers import button, ingest, local_bot, press, press_and_edit, say
from tests.files import make_zip

pytestmark = pytest.mark.timeout(90)

ADMIN_ID = 42
READER_ID = 501
STORIES = Path(__file__).resolve().parents[1] / "fixtures" / "stories"


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalBot]:
    from emulator import BotAPIEmulator

    emulator = BotAPIEmulator()
    emulator.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)
    emulator.create_user("Reader", id=READER_ID, language_code="en", started=True)
    bot = local_bot(
        tmp_path, emulator=emulator, admin_ids=frozenset({ADMIN_ID}), min_text_chars=100, undo_minutes=30
    )
    async with bot as running:
        yield running


@pytest.fixture
def admin(local: LocalBot) -> EmulatedUser:
    return local.emulator.user(ADMIN_ID)


@pytest.fixture
def reader(local: LocalBot) -> EmulatedUser:
    return local.emulator.user(READER_ID)


def restore_button(message: StoredMessage) -> str | None:
    return next((t for t in message.button_texts if t.startswith("↩️ Restore")), None)


async def test_undo_survives_going_back_to_the_list(local: LocalBot, admin: EmulatedUser) -> None:
    await ingest(local, *ALL)
    results = await say(admin, "криптовалюта")
    card = await press_and_edit(admin, results, button(results, "d:"))
    title = (card.text or "").split("\n", 1)[0]
    confirm = await press_and_edit(admin, card, "🗑 Delete")
    deleted = await press_and_edit(admin, confirm, "🗑 Yes, delete")
    assert "↩️ Undo" in deleted.button_texts
    # Back to the search results: the undo is still there, as a button of the list.
    back = await press_and_edit(admin, deleted, "⬅ Back to the list")
    label = restore_button(back)
    assert label is not None and title[:20] in label, (label, title)
    restored = await press_and_edit(admin, back, label)
    assert title in (restored.text or "")
    assert restore_button(restored) is None

    # Deleted again, then somewhere else entirely: /docs offers it back, and so does /undo.
    confirm = await press_and_edit(admin, restored, "🗑 Delete")
    await press_and_edit(admin, confirm, "🗑 Yes, delete")
    listing = await say(admin, "/docs")
    assert restore_button(listing) is not None
    undone = await say(admin, "/undo")
    assert "Restored" in (undone.text or "") and title in (undone.text or "")
    assert "Nothing to undo" in ((await say(admin, "/undo")).text or "")
    assert restore_button(await say(admin, "/docs")) is None


async def test_help_for_admins_names_the_admin_commands(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    text = (await say(admin, "/help")).text or ""
    for command in ("/add", "/docs", "/undo", "/stats", "/log", "/channel", "/digest"):
        assert command in text, command
    readers_help = (await say(reader, "/help")).text or ""
    assert "/docs" not in readers_help and "/undo" not in readers_help


async def test_a_deep_linked_card_has_the_admin_buttons_and_a_hidden_text_keeps_its_full_text(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    [doc_id] = await ingest(local, DECREE)
    card = await say(admin, f"/start doc_{doc_id}")
    assert {"📄 Full text", "🙈 Hide", "🗑 Delete", "✏️ Title"} <= set(card.button_texts)
    hidden = await press_and_edit(admin, card, "🙈 Hide")
    assert "👁 Show" in hidden.button_texts
    assert "📄 Full text" in hidden.button_texts, "an admin reads a hidden text before showing it again"
    await press(admin, hidden, "📄 Full text")
    full = await admin.chat.wait_for_message(timeout=20)
    assert "специальный правовой режим" in (full.text or "")
    # A hidden text's deep link opens the admin's card for the admin, and nothing for a reader.
    assert "👁 Show" in (await say(admin, f"/start doc_{doc_id}")).button_texts
    assert "no longer available" in ((await say(reader, f"/start doc_{doc_id}")).text or "")


async def test_near_duplicates_are_named_on_cards_and_in_the_upload_report(
    local: LocalBot, admin: EmulatedUser
) -> None:
    [original] = await ingest(local, DECREE)
    retold = DECREE.replace("в пилотном режиме", "в пилотном режиме уже с весны")
    archive = make_zip([("retold.txt", retold.encode("utf-8")), ("council.txt", COUNCIL.encode("utf-8"))])
    await admin.send_document("news.zip", archive)
    report = await admin.chat.wait_for_message(timeout=20)
    await admin.chat.wait_for_edit(
        report, timeout=30, predicate=lambda m: "Upload finished" in (m.text or "")
    )
    assert "near-duplicates: 1" in (report.text or ""), report.text
    docs = await local.services.corpus.repo.latest(limit=10)
    near = next(d for d in docs if d.duplicate_of == original)
    card = await say(admin, f"/start doc_{near.id}")
    assert f"near-duplicate of #{original}" in (card.text or ""), card.text


async def test_the_upload_prompt_names_every_format(local: LocalBot, admin: EmulatedUser) -> None:
    prompt = (await say(admin, "/add")).text or ""
    for extension in (".txt", ".md", ".html", ".docx", ".pdf", ".json", ".jsonl", ".zip"):
        assert extension in prompt, extension


@pytest.mark.parametrize(
    ("language", "undated_word", "no_field"), [("ru", "без даты", "нет поля"), ("kk", "күнсіз", "өрісі жоқ")]
)
async def test_admin_screens_in_russian_and_kazakh_have_no_english(
    local: LocalBot, admin: EmulatedUser, language: str, undated_word: str, no_field: str
) -> None:
    await local.services.users.set_language(ADMIN_ID, language)
    undated = "В Алатау открыли новую библиотеку\n" + " ".join(["Библиотека работает каждый день."] * 6)
    await ingest(local, DECREE, CRYPTO, COUNCIL, undated)
    await admin.send_text("/stats")
    figures = await admin.chat.wait_for_message(timeout=20)
    await admin.chat.wait_for_message(timeout=30)  # the chart
    text = figures.text or ""
    assert "undated" not in text
    assert f"{undated_word}: 1" in text
    for month in ("2025-09: 1", "2025-10: 1", "2025-11: 1"):
        assert month in text, (month, text)

    lines = [
        json.dumps({"text": CRYPTO.replace("Эксперты", "Аналитики")}, ensure_ascii=False),
        "не JSON вовсе",
        json.dumps({"title": "Без текста"}, ensure_ascii=False),
    ]
    await admin.send_document("export.jsonl", "\n".join(lines).encode("utf-8"))
    report = await admin.chat.wait_for_message(timeout=20)
    await admin.chat.wait_for_edit(report, timeout=30, predicate=lambda m: "export.jsonl:3" in (m.text or ""))
    final = report.text or ""
    for english in ("not valid JSON", 'no "text" field', "Upload finished", "Failed"):
        assert english not in final, (english, final)
    assert no_field in final


def test_the_chart_has_whole_number_ticks_and_names_every_month() -> None:
    labels = ChartLabels("t", "texts", "readers", "subscribers", "people", "none")
    weeks = [(date(2025, 10, 20), 1), (date(2025, 11, 3), 2), (date(2026, 1, 5), 5)]
    figure = chart_figure(weeks, [(date(2025, 10, 20), 1), (date(2026, 1, 5), 3)], [], labels)
    bars, people = figure.axes
    assert all(float(tick).is_integer() for tick in bars.get_yticks())
    assert all(float(tick).is_integer() for tick in people.get_yticks())
    months = [label.get_text() for label in bars.get_xticklabels()]
    assert {"2025-10", "2025-11", "2025-12", "2026-01"} <= set(months), months


async def test_editing_a_source_leaves_the_latest_overview_alone(
    local: LocalBot, admin: EmulatedUser
) -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(STORIES.glob("*.txt"))]
    await ingest(local, *texts)
    before = (await say(admin, "/summary")).text or ""
    # The oldest report of the most widely reported story gets a named outlet.
    docs = await local.services.corpus.repo.latest(limit=100)
    oldest = docs[-1]
    card = await say(admin, f"/start doc_{oldest.id}")
    await press(admin, card, "🏷 Source")
    await admin.chat.wait_for_message(timeout=20)
    assert "Updated" in ((await say(admin, "Kursiv https://kz.kursiv.media/alatau")).text or "")
    after = (await say(admin, "/summary")).text or ""
    assert after == before
