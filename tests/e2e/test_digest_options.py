"""Digests that are right and adjustable, end to end through the Bot API emulator: dialogs that forgive a
wrong time or zone, the first digest's contents, per-subscription options (headlines only, silent, link
previews, quiet hours), the footer's deep links, and digests into a forum topic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest

from bot.app.playground import LocalBot
from bot.clock import ManualClock
from emulator import EmulatedChat, EmulatedUser, StoredMessage
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE, HTMLISH
from tests.e2e.helpers import REPLY_TIMEOUT, StartBot, ingest, say
from tests.e2e.helpers import press_until_changed as press

pytestmark = pytest.mark.timeout(60)

ADMIN = 42
STORIES = Path(__file__).parents[1] / "fixtures" / "stories"
# Monday 24 November 2025, 08:00 in Almaty (UTC+5).
MONDAY_8AM_ALMATY = datetime(2025, 11, 24, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8AM_ALMATY)


@pytest.fixture
async def local(start_bot: StartBot, clock: ManualClock) -> LocalBot:
    return await start_bot(clock=clock, admin_ids=frozenset({ADMIN}))


def digests(chat: EmulatedChat) -> list[StoredMessage]:
    return [m for m in chat.bot_messages if (m.text or "").startswith("📰")]


async def tick_at(local: LocalBot, clock: ManualClock, when: datetime) -> Any:
    clock.set(when)
    report = await local.digests.scheduler.tick()
    await local.digests.engine.wait_idle()
    return report


def story_blocks(digest: StoredMessage) -> list[str]:
    """The story blocks of a digest: between the header and the footer."""
    return (digest.text or "").split("\n\n")[1:-1]


async def subscribe_daily(user: EmulatedUser, time_data: str = "st:0900:0:1") -> StoredMessage:
    screen = await say(user, "/subscribe")
    await press(user, screen, "sf:daily:0:1")
    await press(user, screen, time_data)
    await press(user, screen, "sz:0:0:1")
    await press(user, screen, "sq:a:0:1")
    return screen


# -- dialogs that forgive ----------------------------------------------------------------------------------


async def test_a_wrong_time_and_a_wrong_zone_are_explained_and_the_step_stays(local: LocalBot) -> None:
    await ingest(local, DECREE)
    reader = local.emulator.create_user("Айгерим", id=601, language_code="ru", started=True)
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:daily:0:1")
    await press(reader, screen, "st::0:1")
    refusal = await say(reader, "25:00")
    assert "25:00" in (refusal.text or "") and "07:30" in (refusal.text or "")
    assert "/cancel" in (refusal.text or "")
    # The next message is the answer, not a search.
    zone_screen = await say(reader, "7.30")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.local_time == "07:30"
    # Time-zone presets in the reader's language.
    presets = " | ".join(zone_screen.button_texts)
    assert "Алматы (UTC+5)" in presets and "Москва (UTC+3)" in presets and "Almaty" not in presets
    await press(reader, zone_screen, "sz:-1:0:1")
    refused_zone = await say(reader, "Мордор")
    assert "Мордор" in (refused_zone.text or "")
    topic_screen = await say(reader, "Ақтөбе")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.timezone == "Asia/Aqtobe"
    done = await press(reader, topic_screen, "sq:a:0:1")
    assert "Ақтөбе (UTC+5)" in (done.text or "") or "Актобе (UTC+5)" in (done.text or "")
    # A custom offset reads "UTC+6", not "UTC+06:00 (UTC+6)".
    settings = await say(reader, "/settings")
    await press(reader, settings, "ss:z:0")
    await press(reader, settings, "sz:-1:0:0")
    shown = await say(reader, "+6")
    assert "UTC+6" in (shown.text or "") and "06:00" not in (shown.text or "")
    await local.services.search_log.flush()
    searches = await local.services.db.int_scalar("SELECT count(*) FROM search_log")
    assert searches == 0  # nothing typed inside the dialog became a search


async def test_every_typed_step_can_be_cancelled(local: LocalBot) -> None:
    reader = local.emulator.create_user("Ann", id=602, language_code="en", started=True)
    await subscribe_daily(reader)
    settings = await say(reader, "/settings")
    await press(reader, settings, "ss:t:0")
    prompt = await press(reader, settings, "st::0:0")
    assert any(b.get("callback_data") == "ss:s:0" for b in prompt.buttons)  # a Cancel button
    cancelled = await say(reader, "/cancel")
    assert "Cancelled" in (cancelled.text or "")
    # The dialog is over: a time typed now is not taken as the answer (it is a search).
    await say(reader, "7:45")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.local_time == "09:00"
    await local.services.search_log.flush()
    assert await local.services.db.int_scalar("SELECT count(*) FROM search_log") == 1


# -- what a digest holds ---------------------------------------------------------------------------------


async def test_the_first_digest_has_the_newest_stories_with_true_source_counts(
    local: LocalBot, clock: ManualClock
) -> None:
    decree = [
        (STORIES / f"decree__{name}.txt").read_text(encoding="utf-8")
        for name in ("alatau-times", "alatau-zhanalyqtary", "dala-news", "steppe-post", "zhetysu-info")
    ]
    railway = (STORIES / "railway__zhetysu-info.txt").read_text(encoding="utf-8")
    # Four reports of the decree, newer news, the decree's fifth report, and last an old text (2024).
    for n, text in enumerate(decree[:4]):
        await ingest(local, text, source_name=f"outlet{n}")
    await ingest(local, HTMLISH, AIRPORT, COUNCIL, railway)
    await ingest(local, decree[4], source_name="outlet4")
    await ingest(local, CRYPTO.replace("date 2025-10-02", "date 2024-05-01"))
    reader = local.emulator.create_user("Reader", id=603, language_code="en", started=True)
    await subscribe_daily(reader)
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (first,) = digests(reader.chat)
    text = first.text or ""
    assert text.splitlines()[0].endswith("5 stories")
    blocks = story_blocks(first)
    # Newest by publication date first: the railway (15 January 2026), then the portal (10 January 2026)…
    assert "железную дорогу" in blocks[0] and "портала" in blocks[1]
    # …the decree with all five of its reports, and not the old text though it was uploaded last.
    (decree_block,) = [b for b in blocks if "5 sources" in b]
    assert "1047" in decree_block or "указ" in decree_block.lower()
    assert "песочниц" not in text
    # The footer: settings and unsubscribe, as deep links into the bot.
    links = [e["url"] for e in first.entities if e["type"] == "text_link"]
    assert links[-2:] == [
        "https://t.me/emulated_bot?start=sub_settings",
        "https://t.me/emulated_bot?start=sub_stop",
    ]
    settings = await say(reader, "/start sub_settings")
    assert "Your digest" in (settings.text or "") and settings.buttons
    bye = await say(reader, "/start sub_stop")
    assert "unsubscribed" in (bye.text or "")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and not sub.active


async def test_nothing_new_is_said_only_after_a_real_digest(local: LocalBot) -> None:
    await ingest(local, DECREE)
    admin = local.emulator.create_user("Admin", id=ADMIN, language_code="en", started=True)
    screen = await say(admin, "/subscribe")
    await press(admin, screen, "sf:daily:0:1")
    await press(admin, screen, "st:0900:0:1")
    await press(admin, screen, "sz:0:0:1")
    await press(admin, screen, "sq:t:0:1")
    await say(admin, "трамвай")
    preview = await say(admin, "/digest preview")
    assert "Nothing matches the topic «трамвай»" in (preview.text or "")
    assert "since its last digest" not in (preview.text or "")


# -- options ---------------------------------------------------------------------------------------------


async def test_silent_headlines_only_digest_with_previews(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, COUNCIL, AIRPORT)
    reader = local.emulator.create_user("Reader", id=604, language_code="en", started=True)
    plain = local.emulator.create_user("Plain", id=605, language_code="en", started=True)
    await subscribe_daily(reader)
    await subscribe_daily(plain)
    settings = await say(reader, "/settings")
    await press(reader, settings, "so:h::0")
    await press(reader, settings, "so:n::0")
    shown = await press(reader, settings, "so:p::0")
    assert "headlines only" in (shown.text or "") and "silent" in (shown.text or "")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and (sub.headlines_only, sub.silent, sub.link_previews) == (True, True, True)

    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (short_one,) = digests(reader.chat)
    (full,) = digests(plain.chat)
    assert short_one.disable_notification and not full.disable_notification
    assert short_one.link_preview_options == {"is_disabled": False}
    assert full.link_preview_options == {"is_disabled": True}
    # Headlines only: a title and its sources, no summary line; the plain one has its summary lines.
    assert all(len(block.splitlines()) == 2 for block in story_blocks(short_one))
    assert any(len(block.splitlines()) == 3 for block in story_blocks(full))


async def test_a_digest_due_in_quiet_hours_comes_when_they_end(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, COUNCIL)
    reader = local.emulator.create_user("Owl", id=606, language_code="en", started=True)
    await subscribe_daily(reader, "st:0700:0:1")
    settings = await say(reader, "/settings")
    quiet = await press(reader, settings, "so:q::0")
    assert "22:00-07:00" in (quiet.text or "")
    done = await press(reader, settings, "so:q:2300-0800:0")
    assert "quiet hours 23:00–08:00" in (done.text or "")
    # 07:00 in Almaty is inside 23:00–08:00: the digest comes at 08:00 (03:00 UTC).
    await tick_at(local, clock, datetime(2025, 11, 25, 2, 0, tzinfo=UTC))
    assert digests(reader.chat) == []
    await tick_at(local, clock, datetime(2025, 11, 25, 3, 0, tzinfo=UTC))
    assert len(digests(reader.chat)) == 1
    # Typed hours: a wrong span is explained and the step stays.
    settings = await say(reader, "/settings")
    await press(reader, settings, "so:q::0")
    await press(reader, settings, "so:q:type:0")
    refusal = await say(reader, "25-7")
    assert "25-7" in (refusal.text or "") and "/cancel" in (refusal.text or "")
    changed = await say(reader, "22:30 - 6")
    assert "quiet hours 22:30–06:00" in (changed.text or "")


# -- forum topics ----------------------------------------------------------------------------------------


async def test_subscribe_inside_a_forum_topic_and_get_the_digest_there(
    local: LocalBot, clock: ManualClock
) -> None:
    await ingest(local, DECREE, CRYPTO)
    admin = local.emulator.create_user("Admin", id=ADMIN, language_code="en", started=True)
    member = local.emulator.create_user("Member", id=607, language_code="en", started=True)
    group = local.emulator.create_group("Alatau forum", forum=True, owner=admin, members=[member])
    news, chatter = group.create_topic("News"), group.create_topic("Chatter")

    await member.send_text("/subscribe", chat=group, thread_id=news)
    refused = await group.wait_for_message(timeout=REPLY_TIMEOUT)
    assert "administrators" in (refused.text or "") and refused.message_thread_id == news

    await admin.send_text("/subscribe", chat=group, thread_id=news)
    screen = await group.wait_for_message(timeout=REPLY_TIMEOUT)
    assert screen.message_thread_id == news and "topic" in (screen.text or "")
    sub = await local.digests.subscriptions.get(group.id, news)
    assert sub is not None and sub.thread_id == news
    for data in ("sf:daily", "st:0900", "sz:0", "sq:a"):
        await press(admin, screen, f"{data}:{sub.id}:1")
    assert "Done" in (screen.text or "") and "/settings" in (screen.text or "")

    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (posted,) = digests(group)
    assert posted.message_thread_id == news
    assert group.topic_messages(chatter) == []
    call = [c for c in local.emulator.calls_to("sendMessage") if c.params.get("chat_id") == group.id][-1]
    assert int(call.params["message_thread_id"]) == news


async def test_the_emulator_refuses_a_topic_that_does_not_exist(local: LocalBot) -> None:
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    forum = local.emulator.create_group("Forum", forum=True, owner=admin)
    plain = local.emulator.create_group("Plain group", owner=admin)
    topic = forum.create_topic("News")
    sent = await local.bot.send_message(forum.id, "into the topic", message_thread_id=topic)
    assert sent.message_thread_id == topic and sent.is_topic_message
    for chat_id, thread in ((forum.id, topic + 100), (plain.id, topic)):
        with pytest.raises(TelegramBadRequest, match="message thread not found"):
            await local.bot.send_message(chat_id, "nowhere", message_thread_id=thread)


async def test_a_wrong_channel_name_keeps_the_question_open(local: LocalBot) -> None:
    admin = local.emulator.create_user("Admin", id=ADMIN, language_code="en", started=True)
    local.emulator.create_channel("Alatau News", username="alatau_news")
    await say(admin, "/channel add")
    refusal = await say(admin, "alatau news")
    assert "/cancel" in (refusal.text or "")
    connected = await say(admin, "@alatau_news")
    assert "connected" in (connected.text or "")
