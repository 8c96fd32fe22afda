"""Subscriptions, digests and the delivery ledger, and the figures of /stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.backend import Backend
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
    digest_id = await backend.deliveries.enqueue(
        _digest(), lambda i: Rendered(f"<b>Digest {i}</b>", '{"k": 1}'), targets, NOW
    )
    return digest_id, [s.id for s in subs]


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
    open_digest = await backend.deliveries.enqueue(
        _digest(), lambda i: Rendered("x", None), [Target(None, 9, 0, None)], NOW
    )
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
