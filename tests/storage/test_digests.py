"""Subscriptions, digests and the delivery ledger, and the figures of /stats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.backend import Backend, open_backend
from storage.models import Frequency, Kind, NewDigest, NewSubscription, Rendered, State, Target
from tests.storage.conftest import new_document

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _sub(chat_id: int, **kw: object) -> NewSubscription:
    values: dict[str, object] = {
        "chat_id": chat_id,
        "kind": Kind.PERSON,
        "language": "ru",
        "frequency": Frequency.DAILY,
        "local_time": "09:00",
        "timezone": "Asia/Almaty",
        "cursor": 0,
        "next_due": NOW,
    }
    values.update(kw)
    return NewSubscription(**values)  # type: ignore[arg-type]


def _digest() -> NewDigest:
    return NewDigest(language="ru", filter_query="", cursor_from=0, cursor_to=5, stories="[]")


async def test_subscriptions(backend: Backend) -> None:
    subs = backend.subscriptions
    person = await subs.upsert(_sub(10))
    assert (person.chat_id, person.kind, person.frequency, person.next_due, person.active) == (
        10,
        Kind.PERSON,
        Frequency.DAILY,
        NOW,
        True,
    )
    channel = await subs.upsert(_sub(-100, kind=Kind.CHANNEL, title="Новости", added_by=10))
    await subs.add_many([_sub(11, frequency=Frequency.INSTANT), _sub(10, frequency=Frequency.WEEKLY)])
    assert (await subs.get(10)) == person, "add_many leaves existing chats alone"
    assert [s.chat_id for s in await subs.get_many([11, -100, 999])] == [-100, 11]
    assert await subs.get_many([]) == []
    assert await subs.get(999) is None

    # A person's language follows their interface language.
    await backend.users.set_language(10, "kk")
    found = await subs.get(10)
    assert found is not None and found.language == "kk"

    saved = await subs.save_settings(
        _replace(found, frequency=Frequency.WEEKLY, weekday=2, paused=True, filter_query="аэропорт")
    )
    assert saved is not None and (saved.frequency, saved.weekday, saved.paused, saved.filter_query) == (
        Frequency.WEEKLY,
        2,
        True,
        "аэропорт",
    )

    due = await subs.due(NOW, latest_doc_id=3)
    assert [s.chat_id for s in due] == [-100, 11], "paused ones wait; instant ones are due for new documents"
    assert [s.chat_id for s in await subs.due(NOW - timedelta(hours=1), latest_doc_id=0)] == []
    await subs.advance([(channel.id, 3, NOW + timedelta(days=1))])
    moved = await subs.get(-100)
    assert moved is not None and (moved.cursor, moved.next_due) == (3, NOW + timedelta(days=1))
    await subs.advance([(channel.id, 1, NOW)])
    moved = await subs.get(-100)
    assert moved is not None and moved.cursor == 3, "a cursor never goes back"

    assert await subs.deactivate(11, "blocked")
    assert not await subs.deactivate(11, "blocked")
    assert [s.chat_id for s in await subs.channels()] == [-100]
    counts = await subs.counts()
    assert (counts.people, counts.channels, counts.paused, counts.inactive) == (1, 1, 1, {"blocked": 1})

    again = await subs.upsert(_sub(11))
    assert again.active and again.inactive_reason is None, "subscribing again starts over"


def _replace(sub: object, **changes: object) -> object:
    from dataclasses import replace

    return replace(sub, **changes)  # type: ignore[type-var]


async def _enqueue(backend: Backend, chats: list[int]) -> tuple[int, list[int]]:
    subs = [await backend.subscriptions.upsert(_sub(chat)) for chat in chats]
    targets = [Target(s.id, s.chat_id, 5, NOW + timedelta(days=1)) for s in subs]
    queued = await backend.deliveries.enqueue(
        _digest(), lambda i: Rendered(f"<b>Digest {i}</b>", '{"k": 1}'), targets, NOW
    )
    assert queued.deliveries == len(chats)
    return queued.digest_id, [s.id for s in subs]


async def test_enqueue_stores_the_digest_the_ledger_and_moves_the_cursors(backend: Backend) -> None:
    digest_id, _ = await _enqueue(backend, [1, 2, 3])
    stored = await backend.deliveries.digest(digest_id)
    assert stored is not None and (stored.text, stored.reply_markup, stored.cursor_to) == (
        f"<b>Digest {digest_id}</b>",
        '{"k": 1}',
        5,
    )
    assert await backend.deliveries.payload(digest_id) == Rendered(f"<b>Digest {digest_id}</b>", '{"k": 1}')
    assert await backend.deliveries.payload(999) is None
    rows = await backend.deliveries.for_digest(digest_id)
    assert [(r.chat_id, r.state, r.attempts) for r in rows] == [(c, State.PENDING, 0) for c in (1, 2, 3)]
    sub = await backend.subscriptions.get(2)
    assert sub is not None and (sub.cursor, sub.next_due, sub.last_digest_at) == (
        5,
        NOW + timedelta(days=1),
        NOW,
    )
    assert await backend.deliveries.has_open()


async def test_a_failed_enqueue_leaves_nothing(backend: Backend) -> None:
    sub = await backend.subscriptions.upsert(_sub(1))

    def render(_: int) -> Rendered:
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError):
        await backend.deliveries.enqueue(_digest(), render, [Target(sub.id, 1, 5, None)], NOW)
    assert await backend.deliveries.for_chat(1) == []
    assert await backend.deliveries.counts() == {}
    unmoved = await backend.subscriptions.get(1)
    assert unmoved is not None and unmoved.cursor == 0


async def test_the_ledger_moves_each_row_through_its_states(backend: Backend) -> None:
    digest_id, sub_ids = await _enqueue(backend, [1, 2, 3, 4, 5, 6])
    ledger = backend.deliveries
    rows = await ledger.pending(0, 100)
    assert len(rows) == 6
    one, two, three, four, five, six = rows
    assert [r.id for r in await ledger.pending(two.id, 2)] == [three.id, four.id]

    assert await ledger.mark_sending(one.id)
    assert not await ledger.mark_sending(one.id), "claimed once"
    await ledger.mark_sent(one.id, message_id=501)
    assert await ledger.mark_sending(two.id)
    await ledger.mark_retry(two.id, "timeout")
    assert await ledger.mark_sending(two.id)
    await ledger.mark_failed(two.id, "x" * 900)
    await ledger.mark_blocked(three.id, three.subscription_id, "blocked")
    await backend.subscriptions.deactivate(4, "unsubscribed")
    assert not await ledger.mark_sending(four.id), "its subscription has stopped"
    await ledger.mark_cancelled(four.id, "unsubscribed")
    await ledger.mark_sent_many([(five.id, 505), (six.id, 506)])

    by_id = {r.id: r for r in await ledger.for_digest(digest_id)}
    assert (by_id[one.id].state, by_id[one.id].message_id, by_id[one.id].attempts) == (State.SENT, 501, 1)
    assert (by_id[two.id].state, by_id[two.id].attempts, len(by_id[two.id].last_error or "")) == (
        State.FAILED,
        2,
        500,
    )
    assert by_id[three.id].state is State.BLOCKED
    blocked = await backend.subscriptions.get(3)
    assert blocked is not None and (blocked.active, blocked.inactive_reason) == (False, "blocked")
    assert by_id[four.id].state is State.CANCELLED
    assert (by_id[six.id].state, by_id[six.id].message_id) == (State.SENT, 506)
    assert await ledger.counts() == {State.SENT: 3, State.FAILED: 1, State.BLOCKED: 1, State.CANCELLED: 1}
    assert [r.id for r in await ledger.for_chat(2)] == [two.id]
    assert not await ledger.has_open()
    assert sub_ids


async def test_in_doubt_rows_become_unknown_until_an_admin_resends_them(backend: Backend) -> None:
    digest_id, _ = await _enqueue(backend, [1, 2])
    ledger = backend.deliveries
    first, second = await ledger.pending(0, 10)
    assert await ledger.mark_sending(first.id)
    assert await ledger.recover_in_doubt() == 1
    assert await ledger.in_doubt_count() == 1
    assert await ledger.unknown_count() == (1, 1)
    assert [r.id for r in await ledger.pending(0, 10)] == [second.id], "never sent again on its own"
    resent = await ledger.resend_unknown()
    assert [r.id for r in resent] == [first.id]
    assert [r.id for r in await ledger.pending(0, 10)] == [first.id, second.id]
    assert await ledger.unknown_count() == (0, 0)
    assert digest_id


async def test_purge_forgets_settled_digests_only(backend: Backend) -> None:
    settled, _ = await _enqueue(backend, [1])
    (row,) = await backend.deliveries.pending(0, 10)
    await backend.deliveries.mark_sent_many([(row.id, 1)])
    open_digest = (
        await backend.deliveries.enqueue(
            _digest(), lambda i: Rendered("x", None), [Target(None, 9, 0, None)], NOW
        )
    ).digest_id
    assert await backend.deliveries.purge(NOW) == 0, "nothing older than that"
    assert await backend.deliveries.purge(NOW + timedelta(days=1)) == 1
    assert await backend.deliveries.digest(settled) is None
    assert await backend.deliveries.for_digest(settled) == []
    assert await backend.deliveries.digest(open_digest) is not None


async def test_reports_per_day(backend: Backend) -> None:
    reports = backend.reports
    assert await reports.documents_per_day() == []
    await backend.documents.add(new_document(1))
    await backend.documents.add(new_document(2))
    await backend.documents.add(new_document(3, published=None))
    per_day = dict(await reports.documents_per_day())
    assert per_day[new_document(1).published] == 2  # type: ignore[index]
    assert sum(per_day.values()) == 3
    await backend.users.touch(1, None, None)
    await backend.users.touch(2, None, None)
    assert [n for _, n in await reports.readers_per_day()] == [2]
    await backend.queries.log(1, "x", 0, "chat")
    assert [n for _, n in await reports.searches_per_day(14)] == [1]
    await backend.subscriptions.upsert(_sub(1))
    await backend.subscriptions.upsert(_sub(2))
    await backend.subscriptions.deactivate(2, "unsubscribed")
    assert sum(n for _, n in await reports.subscribers_per_day()) == 1


async def test_a_subscription_per_forum_topic(backend: Backend) -> None:
    subs = backend.subscriptions
    group = -1001
    news = await subs.upsert(_sub(group, kind=Kind.CHANNEL, thread_id=7, title="news"))
    chatter = await subs.upsert(_sub(group, kind=Kind.CHANNEL, thread_id=9, title="chatter"))
    whole = await subs.upsert(_sub(group, kind=Kind.CHANNEL, title="the group itself"))
    assert len({news.id, chatter.id, whole.id}) == 3, "a topic is a subscription of its own"
    assert (news.thread_id, chatter.thread_id, whole.thread_id) == (7, 9, None)
    assert (await subs.get(group, 7)) == news and (await subs.get(group)) == whole
    assert await subs.get(group, 8) is None
    assert await subs.by_id(chatter.id) == chatter and await subs.by_id(999_999) is None
    assert [s.id for s in await subs.get_many([group])] == [news.id, chatter.id, whole.id]

    again = await subs.upsert(_sub(group, kind=Kind.CHANNEL, thread_id=7, frequency=Frequency.INSTANT))
    assert again.id == news.id and again.frequency is Frequency.INSTANT, "the same topic starts over"
    await subs.add_many([_sub(group, kind=Kind.CHANNEL, thread_id=9, frequency=Frequency.WEEKLY)])
    assert (await subs.get(group, 9)) == chatter, "add_many leaves an existing topic alone"
    saved = await subs.save_settings(_replace(chatter, filter_query="аэропорт"))  # type: ignore[arg-type]
    assert saved is not None and saved.id == chatter.id and saved.thread_id == 9

    assert await subs.deactivate(group, "unsubscribed", 7)
    left = {s.thread_id: s.active for s in await subs.get_many([group])}
    assert left == {7: False, 9: True, None: True}, "unsubscribing one topic leaves the others"
    assert await subs.deactivate_chat(group, "kicked") == 2
    assert all(not s.active for s in await subs.get_many([group]))
    assert await subs.deactivate_chat(group, "kicked") == 0
    assert {s.thread_id: s.inactive_reason for s in await subs.get_many([group])} == {
        7: "unsubscribed",
        9: "kicked",
        None: "kicked",
    }


async def test_enqueue_moves_only_subscriptions_still_as_the_scheduler_saw_them(backend: Backend) -> None:
    """The compare-and-set that keeps two schedulers from queueing one digest twice."""
    one = await backend.subscriptions.upsert(_sub(1))
    two = await backend.subscriptions.upsert(_sub(2))
    instant = await backend.subscriptions.upsert(_sub(3, frequency=Frequency.INSTANT, next_due=None))
    later = NOW + timedelta(days=1)

    def targets() -> list[Target]:
        return [
            Target(one.id, 1, 5, later, seen=(0, NOW)),
            Target(two.id, 2, 5, later, seen=(0, NOW)),
            Target(instant.id, 3, 5, None, seen=(0, None)),
        ]

    # Another process moved subscription 2 on since it was read.
    await backend.subscriptions.advance([(two.id, 4, later)])
    queued = await backend.deliveries.enqueue(_digest(), lambda i: Rendered("x", None), targets(), NOW)
    assert queued.deliveries == 2 and queued.digest_id
    assert [r.chat_id for r in await backend.deliveries.for_digest(queued.digest_id)] == [1, 3]
    moved = await backend.subscriptions.get(3)
    assert moved is not None and moved.cursor == 5

    # The same read a second time (the slower of two schedulers) queues nothing, and stores no digest.
    again = await backend.deliveries.enqueue(_digest(), lambda i: Rendered("x", None), targets(), NOW)
    assert (again.digest_id, again.deliveries) == (0, 0)
    assert sum((await backend.deliveries.counts()).values()) == 2

    # Two at once on one backend: one wins.
    three = await backend.subscriptions.upsert(_sub(4))
    both = await asyncio.gather(
        *(
            backend.deliveries.enqueue(
                _digest(), lambda i: Rendered("x", None), [Target(three.id, 4, 5, later, seen=(0, NOW))], NOW
            )
            for _ in range(2)
        )
    )
    assert sorted(q.deliveries for q in both) == [0, 1]


async def test_engine_heartbeats_and_claims(backend: Backend) -> None:
    _, _ = await _enqueue(backend, [1, 2])
    ledger = backend.deliveries
    first, second = await ledger.pending(0, 10)
    await ledger.beat("alive", NOW, "host-a", 11)
    await ledger.beat("stale", NOW - timedelta(minutes=1), "host-a", 12)
    await ledger.beat("elsewhere", NOW, "host-b", 11)
    assert await ledger.engines_on("host-a") == {"alive": 11, "stale": 12}
    assert await ledger.mark_sending(first.id, "alive")
    assert await ledger.mark_sending(second.id, "stale")
    assert await ledger.recover_in_doubt(NOW - timedelta(seconds=20)) == 1
    assert await ledger.engines_on("host-a") == {"alive": 11}, "a gone engine is forgotten"
    assert [r.state for r in await ledger.for_chat(1)] == [State.SENDING]
    assert [r.state for r in await ledger.for_chat(2)] == [State.UNKNOWN]
    # Beating again moves its heartbeat on and keeps its start.
    await ledger.beat("alive", NOW + timedelta(minutes=5), "host-a", 11)
    assert await ledger.recover_in_doubt(NOW + timedelta(minutes=4)) == 0
    await ledger.forget_engine("alive")
    assert await ledger.recover_in_doubt(NOW + timedelta(minutes=4)) == 1


async def test_a_lease_has_one_holder(backend: Backend) -> None:
    leases = backend.leases
    ttl = timedelta(seconds=8)
    try:
        assert await leases.holder("worker", NOW) is None
        assert await leases.acquire("worker", "a", ttl, NOW)
        assert not await leases.acquire("worker", "b", ttl, NOW)
        assert await leases.acquire("worker", "a", ttl, NOW + timedelta(seconds=5)), "renewed"
        assert await leases.holder("worker", NOW) == "a"
        assert await leases.acquire("other", "b", ttl, NOW), "leases are per name"
        await leases.release("worker", "b")  # not its lease: nothing happens
        assert not await leases.acquire("worker", "b", ttl, NOW)
        await leases.release("worker", "a")
        assert await leases.acquire("worker", "b", ttl, NOW)
        assert await leases.holder("worker", NOW) == "b"
    finally:
        await leases.release("worker", "b")
        await leases.release("other", "b")


async def test_an_expired_sqlite_lease_is_taken_over(tmp_path: Path) -> None:
    """On SQLite the lease is a row: a holder that stopped renewing loses it when it expires. (PostgreSQL's
    advisory lock ends with its holder's connection: tests/unit/test_many_processes.py.)"""
    one = await open_backend(f"sqlite:///{tmp_path / 'lease.db'}")
    other = await open_backend(f"sqlite:///{tmp_path / 'lease.db'}")
    try:
        ttl = timedelta(seconds=8)
        assert await one.leases.acquire("worker", "a", ttl, NOW)
        assert not await other.leases.acquire("worker", "b", ttl, NOW + timedelta(seconds=7))
        assert await other.leases.acquire("worker", "b", ttl, NOW + timedelta(seconds=9))
        assert not await one.leases.acquire("worker", "a", ttl, NOW + timedelta(seconds=10)), "lost it"
        assert await one.leases.holder("worker", NOW + timedelta(seconds=10)) == "b"
    finally:
        await one.close()
        await other.close()


async def test_an_engine_hears_what_another_process_queues(backend: Backend) -> None:
    """PostgreSQL tells listening engines at commit (LISTEN/NOTIFY); SQLite cannot, and engines poll."""
    from storage.postgres.db import PostgresDatabase

    woken = asyncio.Event()
    unwatch = await backend.deliveries.watch(woken.set)
    try:
        await _enqueue(backend, [1])
        if isinstance(backend.database, PostgresDatabase):
            await asyncio.wait_for(woken.wait(), 30)
    finally:
        await unwatch()


async def test_a_chat_that_refuses_stops_every_topic_a_deleted_topic_only_its_own(backend: Backend) -> None:
    subs = backend.subscriptions
    group = -1002
    topics = [await subs.upsert(_sub(group, kind=Kind.CHANNEL, thread_id=t)) for t in (3, 4, 5)]
    other = await subs.upsert(_sub(-1003, kind=Kind.CHANNEL, thread_id=3))
    targets = [Target(s.id, s.chat_id, 5, NOW, thread_id=s.thread_id) for s in (topics[0], other)]
    queued = await backend.deliveries.enqueue(
        _digest(), lambda i: Rendered(f"<b>Digest {i}</b>", None), targets, NOW
    )
    first, elsewhere = await backend.deliveries.for_digest(queued.digest_id)
    if first.chat_id != group:
        first, elsewhere = elsewhere, first

    await backend.deliveries.mark_blocked(first.id, topics[0].id, "topic_gone")
    active = {s.thread_id: s.active for s in await subs.get_many([group])}
    assert active == {3: False, 4: True, 5: True}, "a deleted topic stops only its own subscription"

    await backend.deliveries.mark_blocked(first.id, topics[1].id, "kicked")
    assert all(not s.active for s in await subs.get_many([group])), "removed from the group: every topic"
    untouched = await subs.get(-1003, 3)
    assert untouched is not None and untouched.active, "another chat is left alone"
