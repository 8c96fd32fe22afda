"""When digests are due: zones and offsets, daily and weekly slots across DST changes, catch-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.corpus.ingest import Corpus, TextInput
from bot.digests.builder import DigestBuilder, DigestContent
from bot.digests.delivery import DeliveryEngine
from bot.digests.schedule import (
    DigestScheduler,
    due_after,
    in_quiet_hours,
    next_due,
    parse_local_time,
    parse_timezone,
    utc_offset,
    zone,
)
from bot.digests.sending import Outgoing
from bot.digests.zones import CITIES, city_name
from bot.search import SearchService
from storage.deliveries import DeliveryRepository, Rendered
from storage.subscriptions import Frequency, Kind, NewSubscription, Subscription, SubscriptionRepository
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE

DAILY, WEEKLY = Frequency.DAILY, Frequency.WEEKLY


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]


# -- zones and times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Asia/Almaty", "Asia/Almaty"),
        ("asia/almaty", "Asia/Almaty"),
        ("Almaty", "Asia/Almaty"),
        ("new york", "America/New_York"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("+0", "UTC"),
        ("UTC+5", "UTC+05:00"),
        ("+05:30", "UTC+05:30"),
        ("GMT-3", "UTC-03:00"),
        ("utc −4", "UTC-04:00"),
        ("UTC+14", "UTC+14:00"),
        ("UTC+15", None),
        ("+5:75", None),
        # Cities of Kazakhstan and its neighbours, as people type them in Russian, Kazakh and English.
        ("Астана", "Asia/Almaty"),
        ("astana", "Asia/Almaty"),
        ("Алматы", "Asia/Almaty"),
        ("Ақтөбе", "Asia/Aqtobe"),
        ("Актобе", "Asia/Aqtobe"),
        ("Aktobe", "Asia/Aqtobe"),
        ("Өскемен", "Asia/Almaty"),
        ("Усть-Каменогорск", "Asia/Almaty"),
        ("Уральск", "Asia/Oral"),
        ("Мәскеу", "Europe/Moscow"),
        ("москва", "Europe/Moscow"),
        ("Бишкек", "Asia/Bishkek"),
        ("Ташкент", "Asia/Tashkent"),
        ("+6", "UTC+06:00"),
        ("GMT+5:30", "UTC+05:30"),
        ("Mars/Olympus", None),
        ("Мордор", None),
        ("../../etc/passwd", None),
        ("", None),
    ],
)
def test_typed_time_zones(typed: str, stored: str | None) -> None:
    assert parse_timezone(typed) == stored
    if stored is not None:
        zone(stored)  # every stored form can be turned back into a zone


def test_fixed_offsets_and_labels() -> None:
    assert utc_offset("UTC+05:30", utc(2025, 1, 1)) == "UTC+5:30"
    assert utc_offset("UTC-03:00", utc(2025, 1, 1)) == "UTC-3"
    assert utc_offset("Europe/Berlin", utc(2025, 1, 1)) == "UTC+1"
    assert utc_offset("Europe/Berlin", utc(2025, 7, 1)) == "UTC+2"
    with pytest.raises(ValueError):
        zone("Nowhere/Special")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("9", "09:00"),
        ("9:30", "09:30"),
        ("09.30", "09:30"),
        ("21h", "21:00"),
        ("0:05", "00:05"),
        ("7.30", "07:30"),
        ("07 30", "07:30"),
        ("0730", "07:30"),
        ("25:00", None),
        ("24:00", None),
        ("9:60", None),
        ("nine", None),
    ],
)
def test_typed_times(typed: str, stored: str | None) -> None:
    assert parse_local_time(typed) == stored


def test_zone_names_in_the_readers_language() -> None:
    assert city_name("Asia/Almaty", "ru") == "Алматы"
    assert city_name("Asia/Aqtobe", "kk") == "Ақтөбе"
    assert city_name("Europe/Moscow", "en") == "Moscow"
    assert city_name("Europe/Moscow", "kk") == "Мәскеу"
    assert city_name("Antarctica/Troll", "ru") is None
    for city in CITIES:
        zone(city.zone)  # every curated zone exists


def _sub(**changes: object) -> Subscription:
    now = utc(2025, 11, 24)
    base = Subscription(
        id=1, chat_id=1, kind=Kind.PERSON, title="", added_by=None, language="ru", frequency=DAILY,
        weekday=None, local_time="06:00", timezone="Asia/Almaty", filter_query="", paused=False, active=True,
        inactive_reason=None, cursor=0, next_due=None, last_digest_at=None, created_at=now, updated_at=now,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_digest_due_in_quiet_hours_comes_at_their_end() -> None:
    after = utc(2025, 11, 24, 12)  # 17:00 in Almaty (UTC+5)
    # 06:00 local is inside 22:00–07:00 (across midnight): it comes at 07:00 local, 02:00 UTC.
    sub = _sub(quiet_from="22:00", quiet_to="07:00")
    assert due_after(sub, after) == utc(2025, 11, 25, 2)
    assert in_quiet_hours(sub, utc(2025, 11, 24, 20)) and not in_quiet_hours(sub, utc(2025, 11, 24, 2))
    # Outside them nothing moves; without them neither.
    assert due_after(_sub(quiet_from="00:00", quiet_to="05:00"), after) == utc(2025, 11, 25, 1)
    assert due_after(_sub(), after) == utc(2025, 11, 25, 1)
    # Within a day: 13:00–15:00 holds a 14:00 digest until 15:00.
    midday = _sub(local_time="14:00", quiet_from="13:00", quiet_to="15:00")
    assert due_after(midday, after) == utc(2025, 11, 25, 10)


# -- slots -------------------------------------------------------------------------------------------------


def test_daily_slot_is_today_until_it_has_passed() -> None:
    # Almaty is UTC+5: 09:00 there is 04:00 UTC.
    assert next_due(DAILY, "09:00", "Asia/Almaty", None, utc(2025, 11, 24, 3, 59)) == utc(2025, 11, 24, 4, 0)
    assert next_due(DAILY, "09:00", "Asia/Almaty", None, utc(2025, 11, 24, 4, 0)) == utc(2025, 11, 25, 4, 0)
    # Late evening UTC is already tomorrow in Almaty.
    assert next_due(DAILY, "09:00", "Asia/Almaty", None, utc(2025, 11, 24, 20, 0)) == utc(2025, 11, 25, 4, 0)
    assert next_due(DAILY, "09:00", "UTC-03:00", None, utc(2025, 11, 24, 11, 0)) == utc(2025, 11, 24, 12, 0)
    assert next_due(Frequency.INSTANT, "09:00", "UTC", None, utc(2025, 1, 1)) is None


def test_weekly_slot_on_its_day() -> None:
    # 2025-11-26 is a Wednesday; Monday 09:00 in Almaty next comes on December 1.
    assert next_due(WEEKLY, "09:00", "Asia/Almaty", 0, utc(2025, 11, 26, 12)) == utc(2025, 12, 1, 4, 0)
    # On the day itself, before the time: today.
    assert next_due(WEEKLY, "18:00", "Asia/Almaty", 2, utc(2025, 11, 26, 12)) == utc(2025, 11, 26, 13, 0)
    # Just after it: a week later.
    assert next_due(WEEKLY, "18:00", "Asia/Almaty", 2, utc(2025, 11, 26, 13, 0)) == utc(2025, 12, 3, 13, 0)


def test_local_time_holds_across_dst() -> None:
    # New York: 09:00 is 14:00 UTC in winter and 13:00 UTC in summer (DST began on 2025-03-09).
    assert next_due(DAILY, "09:00", "America/New_York", None, utc(2025, 3, 8, 15)) == utc(2025, 3, 9, 13, 0)
    assert next_due(DAILY, "09:00", "America/New_York", None, utc(2025, 3, 7, 15)) == utc(2025, 3, 8, 14, 0)
    # Berlin in autumn: 09:00 CEST (07:00 UTC) on the 25th, 09:00 CET (08:00 UTC) on the 26th.
    assert next_due(DAILY, "09:00", "Europe/Berlin", None, utc(2025, 10, 25, 6)) == utc(2025, 10, 25, 7)
    assert next_due(DAILY, "09:00", "Europe/Berlin", None, utc(2025, 10, 25, 7)) == utc(2025, 10, 26, 8)


def test_a_time_that_does_not_exist_happens_as_the_clock_jumps_over_it() -> None:
    # Berlin, 2025-03-30: 02:00 CET becomes 03:00 CEST; "02:30" that day is 03:30 CEST (01:30 UTC).
    assert next_due(DAILY, "02:30", "Europe/Berlin", None, utc(2025, 3, 29, 12)) == utc(2025, 3, 30, 1, 30)
    # And the next day it is 02:30 CEST again.
    assert next_due(DAILY, "02:30", "Europe/Berlin", None, utc(2025, 3, 30, 1, 30)) == utc(2025, 3, 31, 0, 30)
    # Lord Howe Island moves by half an hour (02:00 → 02:30 on 2025-10-05): 02:15 happens at 02:45.
    due = next_due(DAILY, "02:15", "Australia/Lord_Howe", None, utc(2025, 10, 4, 12))
    assert due is not None
    assert due.astimezone(ZoneInfo("Australia/Lord_Howe")).time() == time(2, 45)


def test_a_time_that_happens_twice_is_due_once() -> None:
    # Berlin, 2025-10-26: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    first = next_due(DAILY, "02:30", "Europe/Berlin", None, utc(2025, 10, 25, 12))
    assert first == utc(2025, 10, 26, 0, 30)
    # After the first, the next is tomorrow, not the repetition an hour later.
    assert next_due(DAILY, "02:30", "Europe/Berlin", None, first) == utc(2025, 10, 27, 1, 30)
    assert next_due(DAILY, "02:30", "Europe/Berlin", None, utc(2025, 10, 26, 1, 10)) == utc(
        2025, 10, 27, 1, 30
    )


ZONES = [
    "Asia/Almaty",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Tehran",
    "Pacific/Chatham",
    "UTC+05:30",
]


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("local", ["00:30", "02:30", "09:00", "23:30"])
def test_a_year_of_daily_slots_has_one_per_local_day(zone_name: str, local: str) -> None:
    tz = zone(zone_name)
    at = utc(2025, 1, 1)
    days: list[date] = []
    for _ in range(365):
        due = next_due(DAILY, local, zone_name, None, at)
        assert due is not None and due > at
        wall = due.astimezone(tz)
        days.append(wall.date())
        if wall.time() != time.fromisoformat(local):
            # Only where that wall time does not exist that day (a DST gap), and then just after it.
            naive = datetime.combine(wall.date(), time.fromisoformat(local))
            assert naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive
            assert wall.time() > time.fromisoformat(local)
        at = due
    # One slot per local calendar day, none skipped, none twice.
    assert days == [days[0] + timedelta(days=i) for i in range(365)]


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    after=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    weekday=st.integers(0, 6),
    weekly=st.booleans(),
)
def test_next_slot_properties(
    zone_name: str, after: datetime, hour: int, minute: int, weekday: int, weekly: bool
) -> None:
    local = f"{hour:02d}:{minute:02d}"
    frequency = WEEKLY if weekly else DAILY
    due = next_due(frequency, local, zone_name, weekday, after)
    assert due is not None
    assert after < due <= after + timedelta(days=7 if weekly else 1, hours=2)
    wall = due.astimezone(zone(zone_name))
    if weekly:
        assert wall.weekday() == weekday
    # Asking again from just before the slot finds the same slot: nothing between `after` and it.
    assert next_due(frequency, local, zone_name, weekday, due - timedelta(seconds=1)) == due


# -- the scheduler: catch-up, empty digests ------------------------------------------------------------------


class _Renderer:
    def __call__(self, digest_id: int, content: DigestContent, language: str, bot_username: str) -> Rendered:
        return Rendered(f"digest {digest_id}: {len(content.stories)} stories", None)


class _NeverSends:
    async def send(self, message: Outgoing, timeout: float) -> int:  # noqa: ASYNC109
        raise AssertionError("the scheduler's tests look at what is queued, not at sending")


async def _scheduler(corpus: Corpus, clock: ManualClock) -> DigestScheduler:
    deliveries = DeliveryRepository(corpus.db)
    # Never started: this test looks at what is queued, not at sending.
    engine = DeliveryEngine(deliveries, _NeverSends(), clock=clock)
    builder = DigestBuilder(SearchService(corpus))
    return DigestScheduler(SubscriptionRepository(corpus.db), deliveries, builder, engine, _Renderer(), clock)


async def test_after_downtime_one_catch_up_digest_not_one_per_missed_slot(corpus: Corpus) -> None:
    for text in (DECREE, CRYPTO):
        await corpus.ingest(TextInput(text, source="t"))
    clock = ManualClock(utc(2025, 11, 20, 3, 0))
    scheduler = await _scheduler(corpus, clock)
    subs = scheduler.subscriptions
    first_due = next_due(DAILY, "09:00", "Asia/Almaty", None, clock.now())
    await subs.add_many(
        [NewSubscription(501, Kind.PERSON, "ru", DAILY, "09:00", "Asia/Almaty", cursor=0, next_due=first_due)]
    )
    # The bot was down for three and a half days: three slots passed.
    clock.set(utc(2025, 11, 23, 15, 0))
    report = await scheduler.tick()
    assert (report.due, report.queued, report.digests) == (1, 1, 1)
    assert len(await scheduler.deliveries.for_chat(501)) == 1
    sub = await subs.get(501)
    assert sub is not None
    assert sub.next_due == utc(2025, 11, 24, 4, 0)  # the next slot after now, not the missed ones
    assert sub.cursor == await scheduler.builder.latest_id()
    # Ticking again the same day finds nothing due.
    assert (await scheduler.tick()).due == 0


async def test_nothing_new_means_no_message_but_the_schedule_moves_on(corpus: Corpus) -> None:
    await corpus.ingest(TextInput(COUNCIL, source="t"))
    clock = ManualClock(utc(2025, 11, 24, 4, 0))
    scheduler = await _scheduler(corpus, clock)
    latest = await scheduler.builder.latest_id()
    await scheduler.subscriptions.add_many(
        [
            NewSubscription(
                502, Kind.PERSON, "ru", DAILY, "09:00", "Asia/Almaty", cursor=latest, next_due=clock.now()
            )
        ]
    )
    # It has had a digest before (a new subscriber's first digest has the newest stories whatever its cursor).
    await corpus.db.write("UPDATE subscriptions SET last_digest_at = '2025-11-23T04:00:00+00:00'")
    report = await scheduler.tick()
    assert (report.due, report.queued, report.empty) == (1, 0, 1)
    assert await scheduler.deliveries.for_chat(502) == []
    sub = await scheduler.subscriptions.get(502)
    assert sub is not None and sub.next_due == utc(2025, 11, 25, 4, 0)


async def test_same_cursor_and_filter_share_one_digest(corpus: Corpus) -> None:
    for text in (DECREE, CRYPTO, AIRPORT):
        await corpus.ingest(TextInput(text, source="t"))
    clock = ManualClock(utc(2025, 11, 24, 4, 0))
    scheduler = await _scheduler(corpus, clock)
    people = [
        NewSubscription(
            600 + i, Kind.PERSON, "ru", DAILY, "09:00", "Asia/Almaty", cursor=0, next_due=clock.now()
        )
        for i in range(50)
    ]
    people.append(
        NewSubscription(
            700, Kind.PERSON, "ru", DAILY, "09:00", "Asia/Almaty", 0, clock.now(), filter_query="аэропорт"
        )
    )
    await scheduler.subscriptions.add_many(people)
    report = await scheduler.tick()
    assert (report.queued, report.digests) == (51, 2)
    shared = await scheduler.deliveries.for_chat(600)
    assert len(await scheduler.deliveries.for_digest(shared[0].digest_id)) == 50
