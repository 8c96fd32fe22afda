"""Subscriptions end to end: the real Dispatcher, scheduler and delivery engine against the Bot API emulator.

The scheduler and the engine read a manual clock: a test sets the time and runs a tick (what the
APScheduler job does every few seconds) instead of waiting for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.playground import LocalBot
from bot.app.settings import Settings
from bot.clock import ManualClock
from emulator import BotAPIEmulator, EmulatedChat, EmulatedUser, StoredMessage
from storage.subscriptions import Frequency
from tests.corpus_texts import AIRPORT, ALL, COUNCIL, CRYPTO, DECREE
from tests.e2e.helpers import StartBot, ingest, say
from tests.e2e.helpers import press_until_changed as press  # every press here waits for the screen to change
from tests.e2e.helpers import settings_for as e2e_settings

pytestmark = pytest.mark.timeout(60)

ADMIN = 42
STORIES = Path(__file__).parents[1] / "fixtures" / "stories"
# Monday 24 November 2025, 08:00 in Almaty (UTC+5).
MONDAY_8AM_ALMATY = datetime(2025, 11, 24, 3, 0, tzinfo=UTC)


def settings_for(tmp_path: Path) -> Settings:
    return e2e_settings(tmp_path, admin_ids=frozenset({ADMIN}))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8AM_ALMATY)


@pytest.fixture
async def local(start_bot: StartBot, clock: ManualClock) -> LocalBot:
    return await start_bot(clock=clock, admin_ids=frozenset({ADMIN}))


def is_digest(message: StoredMessage) -> bool:
    return (message.text or "").startswith("📰")


def digests(chat: EmulatedChat) -> list[StoredMessage]:
    return [m for m in chat.bot_messages if is_digest(m)]


async def tick_at(local: LocalBot, clock: ManualClock, when: datetime) -> Any:
    """Set the time, run the job once, and wait until whatever it queued has been delivered."""
    clock.set(when)
    report = await local.digests.scheduler.tick()
    await local.digests.engine.wait_idle()
    return report


async def subscribe_daily(
    user: EmulatedUser, time_data: str = "st:0900:0:1", zone_data: str = "sz:0:0:1"
) -> None:
    screen = await say(user, "/subscribe")
    await press(user, screen, "sf:daily:0:1")
    await press(user, screen, time_data)
    await press(user, screen, zone_data)
    done = await press(user, screen, "sq:a:0:1")
    assert "Done" in (done.text or "")


async def test_subscribe_with_buttons_and_get_the_digest_at_the_local_time(
    local: LocalBot, clock: ManualClock
) -> None:
    await ingest(local, *ALL)
    # Interface texts are asserted in English (msgids), whatever the translations say.
    reader = local.emulator.create_user("Айгерим", id=501, language_code="en", started=True)
    screen = await say(reader, "/subscribe")
    assert len(screen.buttons) == 3
    await press(reader, screen, "sf:daily:0:1")
    assert "time" in (screen.text or "")
    await press(reader, screen, "st:0900:0:1")
    assert "Almaty (UTC+5)" in " ".join(screen.button_texts)
    await press(reader, screen, "sz:0:0:1")
    await press(reader, screen, "sq:a:0:1")
    assert "09:00" in (screen.text or "") and "/unsubscribe" in (screen.text or "")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None
    assert (sub.frequency, sub.local_time, sub.timezone, sub.filter_query) == (
        Frequency.DAILY,
        "09:00",
        "Asia/Almaty",
        "",
    )
    assert sub.next_due == datetime(2025, 11, 24, 4, 0, tzinfo=UTC)

    # 08:59 in Almaty: nothing yet.
    assert (await tick_at(local, clock, datetime(2025, 11, 24, 3, 59, tzinfo=UTC))).due == 0
    assert digests(reader.chat) == []
    # 09:00: the digest, with the latest few texts (a new subscriber does not start from nothing).
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (first,) = digests(reader.chat)
    # The newest five stories by publication date; the decree's Russian, English and Kazakh reports are one.
    assert (first.text or "").splitlines()[0].endswith("5 stories")
    assert "3 sources" in (first.text or "")
    assert [e for e in first.entities if e["type"] == "text_link"]
    # Nothing new later that day: no message at all.
    await tick_at(local, clock, datetime(2025, 11, 24, 10, 0, tzinfo=UTC))
    assert len(digests(reader.chat)) == 1
    # A new text, and the next morning's digest has just it.
    await ingest(local, COUNCIL.replace("первое", "внеочередное") + " Решили построить трамвай до Конаева.")
    await tick_at(local, clock, datetime(2025, 11, 25, 4, 0, tzinfo=UTC))
    second = digests(reader.chat)[-1]
    assert len(digests(reader.chat)) == 2
    assert "трамвай" in (second.text or "") or "внеочередное" in (second.text or "")
    assert (second.text or "").count("\n\n") == 2  # a header, one story and the footer


async def test_typed_time_zone_and_topic_filter(local: LocalBot, clock: ManualClock) -> None:
    reader = local.emulator.create_user("Ann", id=502, language_code="en", started=True)
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:daily:0:1")
    await press(reader, screen, "st::0:1")
    zone_screen = await say(reader, "7:30")
    await press(reader, zone_screen, "sz:-1:0:1")
    topic_screen = await say(reader, "UTC+3")
    await press(reader, topic_screen, "sq:t:0:1")
    done = await say(reader, "криптовалюта -указ")
    assert "криптовалюта -указ" in (done.text or "")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and (sub.local_time, sub.timezone) == ("07:30", "UTC+03:00")
    # Texts saved after subscribing (the filter then decides what of them comes).
    await local.services.db.write("UPDATE subscriptions SET cursor = 0 WHERE chat_id = ?", (reader.id,))
    await ingest(local, DECREE, CRYPTO, AIRPORT)
    # 07:30 at UTC+3 is 04:30 UTC.
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 29, tzinfo=UTC))
    assert digests(reader.chat) == []
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 30, tzinfo=UTC))
    (digest,) = digests(reader.chat)
    stories = (digest.text or "").split("\n\n", 1)[1]  # after the header, which names the topic
    assert "криптовалют" in stories.lower()  # the crypto sandbox
    assert "Аэропорт" not in stories and "указ" not in stories.lower()
    # A wrong answer changes nothing and says so.
    settings_screen = await say(reader, "/settings")
    await press(reader, settings_screen, "ss:z:0")
    await press(reader, settings_screen, "sz:-1:0:0")
    refusal = await say(reader, "Middle/Earth")
    assert "Middle/Earth" in (refusal.text or "")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.timezone == "UTC+03:00"


async def test_a_republished_story_is_one_item_with_all_its_sources(
    local: LocalBot, clock: ManualClock
) -> None:
    reader = local.emulator.create_user("Reader", id=503, started=True)
    await subscribe_daily(reader)
    await local.services.db.write("UPDATE subscriptions SET cursor = 0 WHERE chat_id = ?", (reader.id,))
    for name in (
        "council__alatau-times",
        "council__dala-news",
        "council__qaz-region",
        "airport__alatau-times",
    ):
        text = (STORIES / f"{name}.txt").read_text(encoding="utf-8")
        await ingest(local, text, source_name=name.split("__")[1])
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (digest,) = digests(reader.chat)
    text = digest.text or ""
    assert text.splitlines()[0].endswith("2 stories")
    assert "3 sources" in text
    links = [e["url"] for e in digest.entities if e["type"] == "text_link" and "start=sub_" not in e["url"]]
    assert len(links) == 4  # three reports of the council's meeting, one of the airport


async def test_long_digest_has_a_button_for_the_rest(local: LocalBot, clock: ManualClock) -> None:
    reader = local.emulator.create_user("Reader", id=504, started=True)
    await subscribe_daily(reader)
    await local.services.db.write("UPDATE subscriptions SET cursor = 0 WHERE chat_id = ?", (reader.id,))
    for path in sorted(STORIES.glob("*.txt")):
        await ingest(local, path.read_text(encoding="utf-8"), source_name=path.stem.split("__")[1])
    await ingest(local, *ALL)
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (digest,) = digests(reader.chat)
    assert len(digest.text or "") <= 4096
    (more,) = [b for b in digest.buttons if str(b.get("callback_data", "")).startswith("dg:")]
    query = await reader.press(digest, str(more["callback_data"]))
    await query.wait_answer(timeout=10)
    rest = await reader.chat.wait_for_message(timeout=10, predicate=is_digest)
    assert "continued" in (rest.text or "").splitlines()[0]
    shown_first = int(str(more["callback_data"]).split(":")[2])
    assert f"{shown_first + 1}." in (rest.text or "")


async def test_instant_digest_when_a_text_is_saved(local: LocalBot) -> None:
    await ingest(local, DECREE)
    reader = local.emulator.create_user("Fast", id=505, started=True)
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:instant:0:1")
    await press(reader, screen, "sq:a:0:1")
    # No tick by hand: saving a text is what triggers it.
    await ingest(local, AIRPORT)
    digest = await reader.chat.wait_for_message(timeout=10, predicate=is_digest)
    assert "Аэропорт" in (digest.text or "")
    await ingest(local, CRYPTO)
    later = await reader.chat.wait_for_message(timeout=10, predicate=is_digest)
    assert "песочниц" in (later.text or "") and "Аэропорт" not in (later.text or "")


async def test_unsubscribe_pause_and_resume(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, DECREE, CRYPTO)
    reader = local.emulator.create_user("Reader", id=506, started=True)
    await subscribe_daily(reader)
    paused = await say(reader, "/pause")
    assert "/resume" in (paused.text or "")
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    assert digests(reader.chat) == []
    resumed = await say(reader, "/resume")
    assert "25" in (resumed.text or "")  # next digest: tomorrow
    bye = await say(reader, "/unsubscribe")
    assert "/subscribe" in (bye.text or "")  # says how to come back
    await tick_at(local, clock, datetime(2025, 11, 25, 4, 0, tzinfo=UTC))
    assert digests(reader.chat) == []
    # Coming back keeps the settings.
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:daily:0:1")
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.active and sub.timezone == "Asia/Almaty" and sub.local_time == "09:00"


async def test_a_subscriber_who_blocked_the_bot_becomes_inactive(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, DECREE)
    reader = local.emulator.create_user("Gone", id=507, started=True)
    await subscribe_daily(reader)
    reader.block_bot()
    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and not sub.active and sub.inactive_reason == "blocked"
    counts = await local.digests.subscriptions.repo.counts()
    assert counts.inactive == {"blocked": 1}
    calls = [c for c in local.emulator.calls_to("sendMessage") if c.params.get("chat_id") == reader.id]
    await tick_at(local, clock, datetime(2025, 11, 25, 4, 0, tzinfo=UTC))
    assert [
        c for c in local.emulator.calls_to("sendMessage") if c.params.get("chat_id") == reader.id
    ] == calls


async def test_channels_for_admins(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, DECREE, CRYPTO)
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    stranger = local.emulator.create_user("Stranger", id=508, started=True)
    news = local.emulator.create_channel("Alatau News", username="alatau_news")
    local.emulator.create_channel("Reader only", username="reader_only", bot_status="member")
    local.emulator.create_channel("No posting", username="no_posting", can_post_messages=False)

    refusal = await say(stranger, "/channel add @alatau_news")
    assert "admins" in (refusal.text or "")
    assert "administrator" in (await say(admin, "/channel add @reader_only")).text  # type: ignore[operator]
    assert "Post messages" in (await say(admin, "/channel add @no_posting")).text  # type: ignore[operator]
    assert "can't find" in (await say(admin, "/channel add @nobody_here")).text  # type: ignore[operator]

    connected = await say(admin, "/channel add @alatau_news")
    assert "connected" in (connected.text or "")
    channel = await local.digests.subscriptions.get(news.id)
    assert channel is not None
    # The buttons name the channel's subscription by its id.
    await press(admin, connected, f"sf:daily:{channel.id}:1")
    await press(admin, connected, f"st:0900:{channel.id}:1")
    await press(admin, connected, f"sz:0:{channel.id}:1")
    await press(admin, connected, f"sq:a:{channel.id}:1")
    assert "@alatau_news" in (connected.text or "")
    listing = await say(admin, "/channel list")
    assert "@alatau_news" in (listing.text or "") and "09:00" in (listing.text or "")
    entries = await local.services.corpus.db.fetchall(
        "SELECT action FROM audit_log WHERE admin_id = ?", (ADMIN,)
    )
    assert [e[0] for e in entries] == ["channel_add"]

    await tick_at(local, clock, datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    (posted,) = digests(news)
    assert "2 stories" in (posted.text or "").splitlines()[0]

    removed = await say(admin, "/channel remove @alatau_news")
    assert "disconnected" in (removed.text or "")
    await ingest(local, AIRPORT)
    await tick_at(local, clock, datetime(2025, 11, 25, 4, 0, tzinfo=UTC))
    assert len(digests(news)) == 1


async def test_a_channel_is_added_by_forwarding_one_of_its_posts(local: LocalBot) -> None:
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    private = local.emulator.create_channel("Private news")  # no @username: forwarding is the way
    prompt = await say(admin, "/channel add")
    assert "forward" in (prompt.text or "")
    await admin.forward_channel_post(private, "Пост из канала")
    connected = await admin.chat.wait_for_message(timeout=10)
    assert "connected" in (connected.text or "")
    sub = await local.digests.subscriptions.get(private.id)
    assert sub is not None and sub.active


async def test_digest_preview_and_send_now(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, DECREE, CRYPTO)
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    news = local.emulator.create_channel("Alatau News", username="alatau_news")
    connected = await say(admin, "/channel add @alatau_news")
    assert "connected" in (connected.text or "")

    preview = await say(admin, "/digest preview @alatau_news")
    assert "Preview" in (preview.text or "") and "2 stories" in (preview.text or "")
    assert digests(news) == []  # a preview sends nothing to the channel and moves nothing

    sent = await say(admin, "/digest send @alatau_news")
    assert "on its way" in (sent.text or "")
    await news.wait_until(lambda: len(digests(news)) == 1, timeout=10, what="the channel's digest")
    again = await say(admin, "/digest send @alatau_news")
    assert "Nothing new" in (again.text or "")
    stranger = local.emulator.create_user("Stranger", id=509, started=True)
    assert "admins" in ((await say(stranger, "/digest send @alatau_news")).text or "")


async def test_catch_up_after_downtime_is_one_digest(tmp_path: Path, clock: ManualClock) -> None:
    async with BotAPIEmulator() as emulator:
        reader = emulator.create_user("Reader", id=510, started=True)
        async with LocalBot(
            settings_for(tmp_path), emulator=emulator, load_sample=False, clock=clock
        ) as local:
            await ingest(local, DECREE, CRYPTO)
            await subscribe_daily(reader)
        # Down from Monday 08:00 to Thursday 15:00: three 09:00 slots missed.
        clock.set(datetime(2025, 11, 27, 10, 0, tzinfo=UTC))
        async with LocalBot(
            settings_for(tmp_path), emulator=emulator, load_sample=False, clock=clock
        ) as local:
            # No tick by hand: the job runs once right at start-up.
            await reader.chat.wait_for_message(timeout=10, predicate=is_digest)
            await local.digests.engine.wait_idle()
            assert (await local.digests.scheduler.tick()).due == 0
            sub = await local.digests.subscriptions.get(reader.id)
            assert sub is not None and sub.next_due == datetime(2025, 11, 28, 4, 0, tzinfo=UTC)
        assert len(digests(reader.chat)) == 1


async def test_digests_follow_the_local_clock_across_dst(local: LocalBot, clock: ManualClock) -> None:
    await ingest(local, DECREE)
    reader = local.emulator.create_user("Berliner", id=511, started=True)
    clock.set(datetime(2025, 3, 28, 12, 0, tzinfo=UTC))
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:daily:0:1")
    await press(reader, screen, "st::0:1")
    zone_screen = await say(reader, "02:30")
    await press(reader, zone_screen, "sz:-1:0:1")
    topic_screen = await say(reader, "Europe/Berlin")
    await press(reader, topic_screen, "sq:a:0:1")
    # Saturday 29 March, 02:30 CET = 01:30 UTC.
    await tick_at(local, clock, datetime(2025, 3, 29, 1, 30, tzinfo=UTC))
    assert len(digests(reader.chat)) == 1
    await ingest(local, CRYPTO)
    # Sunday 30 March: 02:30 does not exist (02:00 CET → 03:00 CEST); the digest comes at 03:30 CEST.
    await tick_at(local, clock, datetime(2025, 3, 30, 1, 29, tzinfo=UTC))
    assert len(digests(reader.chat)) == 1
    await tick_at(local, clock, datetime(2025, 3, 30, 1, 30, tzinfo=UTC))
    assert len(digests(reader.chat)) == 2
    await ingest(local, AIRPORT)
    # Monday: 02:30 CEST = 00:30 UTC, an hour earlier in UTC than before the change.
    await tick_at(local, clock, datetime(2025, 3, 31, 0, 30, tzinfo=UTC))
    assert len(digests(reader.chat)) == 3
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.next_due == datetime(2025, 4, 1, 0, 30, tzinfo=UTC)
    assert clock.now() - datetime(2025, 3, 31, 0, 30, tzinfo=UTC) < timedelta(minutes=1)


async def test_the_rest_of_a_channel_digest_goes_to_the_readers_private_chat(
    local: LocalBot, clock: ManualClock
) -> None:
    admin = local.emulator.create_user("Admin", id=ADMIN, started=True)
    news = local.emulator.create_channel("Alatau News", username="alatau_news")
    connected = await say(admin, "/channel add @alatau_news")
    assert "connected" in (connected.text or "")
    await local.services.db.write("UPDATE subscriptions SET cursor = 0 WHERE chat_id = ?", (news.id,))
    for path in sorted(STORIES.glob("*.txt")):
        await ingest(local, path.read_text(encoding="utf-8"), source_name=path.stem.split("__")[1])
    await ingest(local, *ALL)
    assert "on its way" in ((await say(admin, "/digest send @alatau_news")).text or "")
    await news.wait_until(lambda: len(digests(news)) == 1, timeout=10, what="the channel's digest")
    (posted,) = digests(news)
    (more,) = [
        str(b["callback_data"]) for b in posted.buttons if str(b.get("callback_data", "")).startswith("dg:")
    ]

    reader = local.emulator.create_user("Reader", id=512, started=True)
    answer = await (await reader.press(posted, more)).wait_answer(timeout=10)
    assert answer.text and not answer.show_alert
    rest = await reader.chat.wait_for_message(timeout=10, predicate=is_digest)
    assert "continued" in (rest.text or "")
    assert len(digests(news)) == 1  # nothing more in the channel itself

    stranger = local.emulator.create_user("Stranger", id=513, started=False)
    alert = await (await stranger.press(posted, more)).wait_answer(timeout=10)
    assert alert.show_alert and "@emulated_bot" in (alert.text or "")


async def test_a_digest_in_doubt_after_a_crash_is_reported_and_resent_to_exactly_that_chat(
    local: LocalBot, clock: ManualClock
) -> None:
    await ingest(local, DECREE, CRYPTO)
    admin = local.emulator.create_user("Admin", id=ADMIN, language_code="en", started=True)
    missed = local.emulator.create_user("Missed", id=514, started=True)
    fine = local.emulator.create_user("Fine", id=515, started=True)
    for reader in (missed, fine):
        await subscribe_daily(reader)
    assert "no chat is in doubt" in ((await say(admin, "/digest unknown")).text or "")

    # As a crash leaves it: the request to one chat was claimed and never answered (it did not arrive).
    await local.digests.engine.stop()
    await local.digests.scheduler.tick()  # nothing due yet: 08:00 in Almaty
    clock.set(datetime(2025, 11, 24, 4, 0, tzinfo=UTC))
    assert (await local.digests.scheduler.tick()).queued == 2
    rows = await local.services.deliveries.for_chat(missed.id)
    assert await local.services.deliveries.mark_sending(rows[0].id)
    # The restart: the claimed row is unknown (neither sent nor sent again), the other one goes out.
    await local.digests.engine.start()
    await local.digests.engine.wait_idle()
    assert (len(digests(missed.chat)), len(digests(fine.chat))) == (0, 1)

    report = await say(admin, "/digest unknown")
    assert "1 chat may have missed a digest" in (report.text or "")
    assert "twice" in (report.text or "")
    done = await press(admin, report, "dgr")
    assert "on its way again to 1 chat" in (done.text or "")
    await missed.chat.wait_until(lambda: len(digests(missed.chat)) == 1, timeout=10, what="the resent digest")
    await local.digests.engine.wait_idle()
    assert (len(digests(missed.chat)), len(digests(fine.chat))) == (1, 1)
    assert "no chat is in doubt" in ((await say(admin, "/digest unknown")).text or "")
    entries = await local.services.db.fetchall(
        "SELECT action, details FROM audit_log WHERE admin_id = ?", (ADMIN,)
    )
    assert [tuple(e) for e in entries] == [("digest_resend", "1")]
