"""Readers, their saved queries and the search log; the admins' audit log; uploads waiting in a preview."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from storage.backend import Backend
from storage.models import LoggedSearch
from tests.storage.conftest import new_document


async def test_users_are_touched_and_keep_their_language(backend: Backend) -> None:
    users = backend.users
    assert await users.get(5) is None
    await users.touch(5, "Айгуль", "aigul")
    user = await users.get(5)
    assert user is not None and (user.first_name, user.username, user.language) == ("Айгуль", "aigul", None)
    await users.set_language(5, "kk")
    await asyncio.sleep(0)
    await users.touch(5, "Айгүл", None)
    user = await users.get(5)
    assert user is not None and (user.first_name, user.username, user.language) == ("Айгүл", None, "kk")
    assert user.last_seen >= user.first_seen
    await users.set_language(6, "en")  # someone who only chose a language is a reader too
    assert await users.count() == 2


async def test_a_saved_query_is_read_back_only_by_its_user(backend: Backend) -> None:
    queries = backend.queries
    mine = await queries.save(1, "аэропорт")
    assert await queries.save(1, "аэропорт") == mine, "the same query of the same user keeps its id"
    theirs = await queries.save(2, "аэропорт")
    assert theirs != mine
    assert await queries.get(mine, 1) == "аэропорт"
    assert await queries.get(mine, 2) is None, "another user's id finds nothing"
    assert await queries.get(theirs, 1) is None
    assert await queries.get(theirs, 2) == "аэропорт"
    assert await queries.get(12345, 1) is None


async def test_the_search_log(backend: Backend) -> None:
    await backend.queries.log(1, "аэропорт", 3, "chat")
    await backend.queries.log(None, "x" * 600, 0, "inline")
    days = await backend.queries.per_day()
    assert len(days) == 1 and days[0][1] == 2


async def test_the_search_log_takes_a_batch_with_each_entrys_own_time(backend: Backend) -> None:
    day = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    almaty = timezone(timedelta(hours=5))
    await backend.queries.log_many([])
    await backend.queries.log_many(
        [
            LoggedSearch(day, 1, "аэропорт", 3, "chat"),
            LoggedSearch(day - timedelta(days=1), None, "x" * 600, 0, "inline"),
            # 04:00 in Almaty is still the 1st in UTC, where the log counts days.
            LoggedSearch(datetime(2026, 3, 2, 4, 0, tzinfo=almaty), 2, "указ", 1, "chat"),
        ]
    )
    assert await backend.queries.per_day() == [("2026-03-01", 2), ("2026-02-28", 1)]


async def test_the_audit_log_and_the_bins_purge(backend: Backend) -> None:
    audit = backend.audit
    await audit.record(7, "hide", 3, "Заголовок")
    await audit.record(8, "edit_title", 4, "x" * 2000)
    await audit.record(7, "channel_add")
    assert await audit.count() == 3
    recent = await audit.recent(limit=2)
    assert [(e.admin_id, e.action, e.doc_id) for e in recent] == [
        (7, "channel_add", None),
        (8, "edit_title", 4),
    ]
    assert len(recent[1].details) == 1000
    assert [e.action for e in await audit.recent(limit=2, offset=2)] == ["hide"]
    assert recent[0].at.tzinfo is not None

    doc_id = await backend.documents.add(new_document(1))
    await backend.documents.move_to_bin(doc_id, admin_id=7)
    assert await audit.purge_bin(timedelta(days=1)) == 0, "a fresh delete can still be undone"
    assert await audit.purge_bin(timedelta(seconds=-5)) == 1


async def test_pending_uploads(backend: Backend) -> None:
    pending = backend.pending
    first = await pending.add(7, text="Текст", source="file.txt", title="Заголовок", lang="ru")
    second = await pending.add(7, text="Другой", source="chat")
    item = await pending.get(first)
    assert item is not None
    assert (item.admin_id, item.text, item.source, item.title, item.lang, item.url, item.published) == (
        7,
        "Текст",
        "file.txt",
        "Заголовок",
        "ru",
        None,
        None,
    )
    assert not await pending.update(first)
    assert await pending.update(first, title="Новый", published="2026-01-05")
    item = await pending.get(first)
    assert item is not None and (item.title, item.published) == ("Новый", "2026-01-05")
    assert not await pending.update(999, title="x")
    assert await pending.delete(second)
    assert not await pending.delete(second)
    assert await pending.get(second) is None
    assert await pending.purge(timedelta(days=1)) == 0
    assert await pending.purge(timedelta(seconds=-5)) == 1
    assert await pending.get(first) is None
