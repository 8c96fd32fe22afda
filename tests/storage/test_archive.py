"""The archive store (export and import of the whole corpus): every document in id order, and a document
put back with its hidden flag and its times, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from storage.backend import Backend
from storage.models import Alternatives, TermQuery
from tests.storage.conftest import new_document

CREATED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
UPDATED = datetime(2025, 3, 5, 11, 6, 7, tzinfo=timezone(timedelta(hours=5)))  # 06:06:07 UTC


async def test_documents_after_pages_in_id_order_with_hidden_ones(backend: Backend) -> None:
    ids = [await backend.documents.add(new_document(n)) for n in range(1, 6)]
    await backend.documents.set_hidden(ids[1], True, "", "")
    await backend.documents.move_to_bin(ids[2], admin_id=1)
    first = await backend.archive.documents_after(0, 2)
    assert [d.id for d in first] == ids[:2]
    assert first[1].hidden
    rest = await backend.archive.documents_after(first[-1].id, 10)
    assert [d.id for d in rest] == [ids[3], ids[4]]  # the deleted one is in the bin, not the corpus
    assert await backend.archive.documents_after(ids[4], 10) == []


async def test_restore_keeps_times_and_hidden_flag(backend: Backend) -> None:
    shown = await backend.archive.restore(
        new_document(1, title_terms="аэропорт"), hidden=False, created_at=CREATED, updated_at=UPDATED
    )
    hidden = await backend.archive.restore(
        new_document(2, title_terms="аэропорт"), hidden=True, created_at=CREATED, updated_at=CREATED
    )
    doc = await backend.documents.get(shown)
    assert doc is not None
    assert (doc.created_at, doc.updated_at, doc.hidden) == (CREATED, UPDATED, False)
    assert doc.story_id == shown  # a document restored without a story starts its own
    gone = await backend.documents.get(hidden)
    assert gone is not None and gone.hidden and gone.updated_at == CREATED
    # A hidden document is out of the index, as one hidden by an admin.
    query = TermQuery(required=(Alternatives(phrases=(("аэропорт",),)),))
    found = await backend.documents.search_documents(query, limit=10)
    assert [d.id for d, _ in found] == [shown]
    assert await backend.documents.count() == 1
    assert await backend.documents.count(include_hidden=True) == 2


async def test_restore_joins_a_story_and_links_an_original(backend: Backend) -> None:
    first = await backend.archive.restore(
        new_document(1), hidden=False, created_at=CREATED, updated_at=CREATED
    )
    copy = await backend.archive.restore(
        new_document(2, duplicate_of=first, story_id=first),
        hidden=False,
        created_at=CREATED,
        updated_at=CREATED,
    )
    doc = await backend.documents.get(copy)
    assert doc is not None and (doc.duplicate_of, doc.story_id) == (first, first)
