"""Digests for the topics of a forum group, end to end through the Bot API emulator: each topic of a group
has its own subscription and gets its digest in its own thread; the group's administrators (as Telegram's
getChatMember says) set them up and change them, other members are refused; the footer's links address the
topic's subscription; removing the bot from the group stops every topic's digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app.playground import LocalBot
from bot.clock import ManualClock
from emulator import EmulatedChat, EmulatedGroup, EmulatedUser, StoredMessage
from tests.corpus_texts import AIRPORT, CRYPTO, DECREE
from tests.e2e.helpers import REPLY_TIMEOUT, StartBot, ingest, say
from tests.e2e.helpers import press as press_for_answer
from tests.e2e.helpers import press_until_changed as press

pytestmark = pytest.mark.timeout(90)

BOT_ADMIN = 42
# Monday 24 November 2025, 08:00 in Almaty (UTC+5); the digests below are set for 09:00.
MONDAY_8AM_ALMATY = datetime(2025, 11, 24, 3, 0, tzinfo=UTC)
MONDAY_9AM_ALMATY = datetime(2025, 11, 24, 4, 0, tzinfo=UTC)
TUESDAY_9AM_ALMATY = datetime(2025, 11, 25, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8AM_ALMATY)


@pytest.fixture
async def local(start_bot: StartBot, clock: ManualClock) -> LocalBot:
    return await start_bot(clock=clock, admin_ids=frozenset({BOT_ADMIN}))


def digests(chat: EmulatedChat, thread_id: int | None = None) -> list[StoredMessage]:
    return [
        m
        for m in chat.bot_messages
        if (m.text or "").startswith("📰") and (thread_id is None or m.message_thread_id == thread_id)
    ]


async def tick_at(local: LocalBot, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    await local.digests.scheduler.tick()
    await local.digests.engine.wait_idle()


async def in_topic(user: EmulatedUser, group: EmulatedGroup, thread_id: int, text: str) -> StoredMessage:
    """Send `text` inside a topic; the bot's next message in the group (it answers in the same topic)."""
    seen = len(group.bot_messages)
    await user.send_text(text, chat=group, thread_id=thread_id)
    await group.wait_until(lambda: len(group.bot_messages) > seen, timeout=REPLY_TIMEOUT, what="an answer")
    answer = group.bot_messages[seen]
    assert answer.message_thread_id == thread_id, "the answer comes in the topic it was asked in"
    return answer


async def subscribe_topic(
    local: LocalBot, user: EmulatedUser, group: EmulatedGroup, thread_id: int
) -> StoredMessage:
    """/subscribe in the topic, then daily at 09:00, Almaty, all news."""
    screen = await in_topic(user, group, thread_id, "/subscribe")
    assert "topic" in (screen.text or ""), screen.text
    sub = await local.digests.subscriptions.get(group.id, thread_id)
    assert sub is not None and sub.active
    for data in ("sf:daily", "st:0900", "sz:0", "sq:a"):
        await press(user, screen, f"{data}:{sub.id}:1")
    assert "Done" in (screen.text or "")
    return screen


def footer_links(message: StoredMessage) -> list[str]:
    return [e["url"] for e in message.entities if e["type"] == "text_link"][-2:]


async def test_two_topics_of_one_group_get_their_own_digests(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, DECREE, CRYPTO)
    owner = local.emulator.create_user("Owner", id=701, language_code="en", started=True)
    # An administrator, the bot reads every message of the group: a typed answer too, not only commands.
    group = local.emulator.create_group("Alatau forum", forum=True, owner=owner, bot_status="administrator")
    news, economy, chatter = (
        group.create_topic("News"),
        group.create_topic("Economy"),
        group.create_topic("Chat"),
    )

    await subscribe_topic(local, owner, group, news)
    economy_screen = await subscribe_topic(local, owner, group, economy)
    subs = await local.digests.subscriptions.repo.get_many([group.id])
    assert sorted(s.thread_id or 0 for s in subs) == sorted([news, economy]), "one subscription per topic"

    # The economy topic only wants crypto news (a setting of its own, changed from its own screen).
    economy_sub = await local.digests.subscriptions.get(group.id, economy)
    assert economy_sub is not None
    await press(owner, economy_screen, f"ss:q:{economy_sub.id}")
    await press_for_answer(owner, economy_screen, f"sq:t:{economy_sub.id}:0")
    typed = await in_topic(owner, group, economy, "песочница")
    assert "«песочница»" in (typed.text or "")

    await tick_at(local, clock, MONDAY_9AM_ALMATY)
    (in_news,) = digests(group, news)
    (in_economy,) = digests(group, economy)
    assert group.topic_messages(chatter) == []
    assert "2 stories" in (in_news.text or "").splitlines()[0]
    assert "1 story" in (in_economy.text or "").splitlines()[0]
    threads = sorted(
        int(c.params["message_thread_id"])
        for c in local.emulator.calls_to("sendMessage")
        if c.params.get("chat_id") == group.id and "📰" in str(c.params.get("text"))
    )
    assert threads == sorted([news, economy]), "each digest is sent with its topic's message_thread_id"

    # The footer of each digest addresses that topic's subscription.
    news_sub = await local.digests.subscriptions.get(group.id, news)
    assert news_sub is not None
    assert footer_links(in_news) == [
        f"https://t.me/emulated_bot?start=sub_settings_{news_sub.id}",
        f"https://t.me/emulated_bot?start=sub_stop_{news_sub.id}",
    ]
    assert footer_links(in_economy)[1].endswith(f"sub_stop_{economy_sub.id}")

    # Unsubscribing in one topic leaves the other.
    bye = await in_topic(owner, group, economy, "/unsubscribe")
    assert "This topic is unsubscribed" in (bye.text or "")
    await ingest(local, AIRPORT)
    await tick_at(local, clock, TUESDAY_9AM_ALMATY)
    assert len(digests(group, news)) == 2 and len(digests(group, economy)) == 1

    # /subscribe in that topic again brings it back with its keywords.
    await in_topic(owner, group, economy, "/subscribe")
    back = await local.digests.subscriptions.get(group.id, economy)
    assert back is not None and back.active and back.id == economy_sub.id
    assert back.filter_query == "песочница"


async def test_group_admins_manage_topics_and_other_members_are_refused(
    local: LocalBot, clock: ManualClock
) -> None:
    await ingest(local, DECREE)
    owner = local.emulator.create_user("Owner", id=711, language_code="en", started=True)
    moderator = local.emulator.create_user("Moderator", id=712, language_code="en", started=True)
    member = local.emulator.create_user("Member", id=713, language_code="en", started=True)
    bot_admin = local.emulator.create_user("Bot admin", id=BOT_ADMIN, language_code="en", started=True)
    group = local.emulator.create_group("Alatau forum", forum=True, owner=owner, members=[member, bot_admin])
    group.add_member(moderator, "administrator")
    news = group.create_topic("News")

    for command in ("/subscribe", "/settings", "/pause", "/unsubscribe"):
        refused = await in_topic(member, group, news, command)
        assert "Only the administrators of this group" in (refused.text or ""), (command, refused.text)
    assert await local.digests.subscriptions.get(group.id, news) is None

    # An administrator of the group (not of the bot) sets it up.
    screen = await subscribe_topic(local, moderator, group, news)
    sub = await local.digests.subscriptions.get(group.id, news)
    assert sub is not None and sub.added_by == moderator.id

    # The member's presses on the settings are refused with the reason; nothing changes.
    answer = await press_for_answer(member, screen, f"ss:p:{sub.id}")
    assert "Only the administrators of this group" in (answer.text or "") and answer.show_alert
    unchanged = await local.digests.subscriptions.get(group.id, news)
    assert unchanged is not None and not unchanged.paused

    # The administrators (the owner, and the bot's own admins) change it.
    paused = await in_topic(owner, group, news, "/pause")
    assert "paused" in (paused.text or "")
    settings = await in_topic(bot_admin, group, news, "/settings")
    assert "Paused" in (settings.text or "")
    await press(moderator, settings, f"ss:r:{sub.id}")
    resumed = await local.digests.subscriptions.get(group.id, news)
    assert resumed is not None and not resumed.paused

    # The footer's link in a private chat: for an administrator the topic's settings, for a member a refusal.
    opened = await say(moderator, f"/start sub_settings_{sub.id}")
    assert "Alatau forum" in (opened.text or "") and opened.buttons
    stranger_link = await say(member, f"/start sub_stop_{sub.id}")
    assert "Only the administrators of this group" in (stranger_link.text or "")
    still = await local.digests.subscriptions.get(group.id, news)
    assert still is not None and still.active

    # Made an administrator, the member may, once the remembered answer (a minute) has expired.
    group.add_member(member, "administrator")
    clock.advance(timedelta(minutes=2))
    allowed = await in_topic(member, group, news, "/settings")
    assert "Alatau forum" in (allowed.text or "")

    bye = await say(moderator, f"/start sub_stop_{sub.id}")
    assert "disconnected" in (bye.text or "")
    gone = await local.digests.subscriptions.get(group.id, news)
    assert gone is not None and not gone.active


async def test_removing_the_bot_from_the_group_stops_every_topic(local: LocalBot) -> None:
    owner = local.emulator.create_user("Owner", id=721, language_code="en", started=True)
    group = local.emulator.create_group("Alatau forum", forum=True, owner=owner)
    first, second = group.create_topic("One"), group.create_topic("Two")
    await subscribe_topic(local, owner, group, first)
    await subscribe_topic(local, owner, group, second)

    group.set_bot_status("kicked", by=owner)
    # Nothing is sent in answer: wait until the bot has taken the update and gone quiet, then look.
    for _ in range(50):
        await local.emulator.wait_idle(timeout=REPLY_TIMEOUT)
        if all(not s.active for s in await local.digests.subscriptions.repo.get_many([group.id])):
            break
    subs = await local.digests.subscriptions.repo.get_many([group.id])
    assert [(s.active, s.inactive_reason) for s in subs] == [(False, "kicked"), (False, "kicked")]
