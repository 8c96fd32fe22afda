"""Sources and their items: the same answers from every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.backend import Backend
from storage.models import Alternatives, ItemOutcome, NewSource, PollOutcome, SourceKind, TermQuery
from tests.storage.conftest import new_document

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def feed(url: str, *, filter_query: str = "", next_poll_at: datetime | None = T0) -> NewSource:
    return NewSource(
        kind=SourceKind.FEED,
        url=url,
        title="",
        filter_query=filter_query,
        poll_minutes=15,
        created_by=7,
        created_at=T0,
        next_poll_at=next_poll_at,
    )


async def test_a_source_is_added_once_and_read_back(backend: Backend) -> None:
    sources = backend.sources
    added = await sources.add(feed("https://example.kz/rss", filter_query="Алатау OR Alatau"))
    assert added is not None
    assert (added.kind, added.url, added.filter_query, added.poll_minutes, added.created_by) == (
        SourceKind.FEED,
        "https://example.kz/rss",
        "Алатау OR Alatau",
        15,
        7,
    )
    assert (added.paused, added.items_added, added.failures, added.error_reason) == (False, 0, 0, None)
    assert added.created_at == T0 and added.next_poll_at == T0 and added.last_polled_at is None
    assert await sources.add(feed("https://example.kz/rss")) is None, "the same address twice"
    channel = await sources.add(
        NewSource(SourceKind.CHANNEL, "@alatau_news", "Alatau", "", 15, 7, T0, None, chat_id=-100123)
    )
    assert channel is not None and channel.chat_id == -100123
    assert await sources.by_chat(-100123) == channel
    assert await sources.by_chat(-100999) is None
    assert [s.id for s in await sources.all()] == [added.id, channel.id]
    assert await sources.get(added.id) == added


async def test_due_feeds_are_the_unpaused_ones_whose_time_has_come(backend: Backend) -> None:
    sources = backend.sources
    early = await sources.add(feed("https://a.kz/rss", next_poll_at=T0 - timedelta(minutes=5)))
    later = await sources.add(feed("https://b.kz/rss", next_poll_at=T0 + timedelta(minutes=5)))
    paused = await sources.add(feed("https://c.kz/rss", next_poll_at=T0 - timedelta(minutes=9)))
    assert early and later and paused
    await sources.add(NewSource(SourceKind.CHANNEL, "@ch", "", "", 15, 7, T0, None, chat_id=-1001))
    assert await sources.set_paused(paused.id, True)
    assert [s.id for s in await sources.due(T0)] == [early.id]
    assert [s.id for s in await sources.due(T0 + timedelta(minutes=5))] == [early.id, later.id]
    assert await sources.set_paused(paused.id, False, next_poll_at=T0)
    assert [s.id for s in await sources.due(T0)] == [early.id, paused.id]
    assert not await sources.set_paused(12345, True)


async def test_polls_count_items_and_failures(backend: Backend) -> None:
    sources = backend.sources
    src = await sources.add(feed("https://a.kz/rss"))
    assert src is not None
    await sources.record_poll(
        src.id,
        PollOutcome(T0, T0 + timedelta(minutes=15), added=3, etag='"v1"', last_modified="Tue", title="Лента"),
    )
    got = await sources.get(src.id)
    assert got is not None
    assert got.title == "Лента"
    assert (got.items_added, got.last_new_at, got.last_polled_at, got.etag, got.last_modified) == (
        3,
        T0,
        T0,
        '"v1"',
        "Tue",
    )
    failed_at = T0 + timedelta(minutes=15)
    for n in (1, 2):
        await sources.record_poll(
            src.id,
            PollOutcome(failed_at, failed_at + timedelta(minutes=30 * n), error_reason="http_status",
                        error_params={"status": 500}),
        )  # fmt: skip
    got = await sources.get(src.id)
    assert got is not None
    assert (got.failures, got.error_reason, got.error_params) == (2, "http_status", {"status": 500})
    assert got.etag == '"v1"', "a failed poll keeps the validators"
    assert got.next_poll_at == failed_at + timedelta(minutes=60)
    later = failed_at + timedelta(hours=1)
    await sources.record_poll(src.id, PollOutcome(later, later, added=0, etag=None, title="Другое"))
    got = await sources.get(src.id)
    assert got is not None and got.title == "Лента", "a name once known stays"
    assert (got.failures, got.error_reason, got.error_params, got.items_added) == (0, None, {}, 3)
    assert got.last_new_at == T0, "a poll that added nothing leaves the last new item's time"


async def test_an_item_is_remembered_once_per_source_and_seen_across_sources(backend: Backend) -> None:
    sources = backend.sources
    a = await sources.add(feed("https://a.kz/rss"))
    b = await sources.add(feed("https://b.kz/rss"))
    assert a and b
    doc_id = await backend.documents.add(new_document(1))
    assert await sources.remember(a.id, "https://x.kz/1", ItemOutcome.ADDED, doc_id, T0)
    assert not await sources.remember(a.id, "https://x.kz/1", ItemOutcome.DUPLICATE, None, T0)
    assert await sources.remember(a.id, "https://x.kz/2", ItemOutcome.FILTERED, None, T0)
    assert await sources.seen(a.id, "https://x.kz/1") and await sources.seen(a.id, "https://x.kz/2")
    assert await sources.seen(b.id, "https://x.kz/1"), "stored from another feed: not fetched again"
    assert not await sources.seen(b.id, "https://x.kz/2"), "another feed's filter may let it through"
    assert await sources.item_count(a.id) == 2
    assert await sources.set_filter(a.id, "-реклама")
    got = await sources.get(a.id)
    assert got is not None and got.filter_query == "-реклама"
    assert await sources.remove(a.id)
    assert await sources.get(a.id) is None and await sources.item_count(a.id) == 0
    assert not await sources.seen(b.id, "https://x.kz/1")
    assert not await sources.remove(a.id)


async def test_the_author_a_source_gave_is_kept_through_the_bin_and_the_archive(backend: Backend) -> None:
    documents = backend.documents
    doc_id = await documents.add(new_document(1, title_terms="аэропорт"))
    plain = await documents.add(new_document(2))
    assert await backend.sources.set_author(doc_id, "Ерлан Тулегенов")
    assert not await backend.sources.set_author(doc_id + 100, "Nobody")
    doc = await documents.get(doc_id)
    assert doc is not None and doc.author == "Ерлан Тулегенов"
    assert (await documents.get(plain) or doc).author is None
    # Every way a document is read carries it: by hash, in a list, in a search.
    assert [d.author for d in await documents.get_many([doc_id])] == ["Ерлан Тулегенов"]
    assert (await documents.by_hash(doc.content_hash) or doc).author == "Ерлан Тулегенов"
    query = TermQuery(required=(Alternatives(phrases=(("аэропорт",),)),))
    assert [d.author for d, _ in await documents.search_documents(query, limit=10)] == ["Ерлан Тулегенов"]
    # Deleted and restored (undo), it comes back with its author.
    await documents.move_to_bin(doc_id, admin_id=1)
    binned = await documents.last_in_bin(1, T0 - timedelta(days=3650))
    assert binned is not None and binned.author == "Ерлан Тулегенов"
    restored = await documents.restore_from_bin(doc_id, T0 - timedelta(days=3650))
    assert restored is not None
    assert (await documents.get(restored) or doc).author == "Ерлан Тулегенов"
    # An archive's document is put back with its author (export/import).
    again = await backend.archive.restore(
        new_document(3), hidden=False, created_at=T0, updated_at=T0, author="Mira Kim"
    )
    exported = await backend.archive.documents_after(again - 1, 1)
    assert [d.author for d in exported] == ["Mira Kim"]


async def test_an_item_is_relinked_to_the_document_that_replaced_its_first(backend: Backend) -> None:
    sources = backend.sources
    source = await sources.add(feed("https://t.me/alatau"))
    assert source is not None
    first = await backend.documents.add(new_document(1))
    url = "https://t.me/alatau/7"
    assert await sources.stored_as(source.id, url) is None
    await sources.remember(source.id, url, ItemOutcome.ADDED, first, T0)
    assert await sources.stored_as(source.id, url) == first
    # The edited version is stored, the first goes to the bin, the item follows the new one.
    second = await backend.documents.add(new_document(2))
    await backend.documents.move_to_bin(first, admin_id=0)
    assert await sources.stored_as(source.id, url) is None
    assert await sources.relink(source.id, url, second)
    assert await sources.stored_as(source.id, url) == second
    assert await sources.seen(source.id, url)
    assert not await sources.relink(source.id, "https://t.me/alatau/8", second)
