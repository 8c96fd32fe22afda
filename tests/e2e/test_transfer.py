"""The corpus out and in again: `export` → `import` into an empty database → `export` gives the same file
(on SQLite and on PostgreSQL), and `migrate-db` copies an SQLite database into PostgreSQL whole."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.app.container import Services
from bot.app.export import export_corpus, import_corpus
from bot.app.failures import StartupFailure
from bot.app.migrate_db import migrate_db
from bot.app.settings import Settings
from bot.corpus.extract import extract_path
from bot.corpus.ingest import TextInput
from bot.corpus.uploads import to_input
from storage.postgres.scratch import scratch_schema
from tests.corpus_texts import AIRPORT, CRYPTO, DECREE
from tests.e2e.helpers import local_bot, say, settings_for
from tests.e2e.helpers import press_until_changed as press

pytestmark = pytest.mark.timeout(180)

STORIES = Path(__file__).parents[1] / "fixtures" / "stories"
QUERIES = ("аэропорт", "криптовалюта", "указ президента", "совет развития", "Tokayev")
# Its stored body opens with a line that reads like a headline: ingest would take it for a title again.
TWO_HEADLINES = (
    "Акимат Алатау утвердил план застройки\n"
    "Первые кварталы появятся у озера\n"
    "Акимат Алатау утвердил план застройки северной части города. Первые жилые кварталы появятся у озера "
    "Капшагай, сообщили в пресс-службе акимата. Строительство начнётся весной."
)


async def search_titles(services: Services) -> list[list[str]]:
    found = []
    for query in QUERIES:
        result = await services.search.search(query, limit=10)
        found.append([hit.document.title for hit in result.hits])
    return found


async def build_corpus(settings: Settings) -> None:
    """Stories with near-duplicates, a hidden text, a deleted story root (a gap in the ids and a story
    whose first document is gone), and a text that is not what a new upload of its body would give."""
    services = await Services.open(settings, load_sample=False)
    try:
        items = [
            to_input(item)
            for path in sorted(STORIES.iterdir())
            for item in extract_path(path, services.limits)
        ]
        async for result in services.corpus.ingest_many(items):
            assert result.id is not None, result
        added = await services.corpus.ingest(TextInput(TWO_HEADLINES, source="t", source_name="Акимат"))
        assert added.id is not None
        docs = await services.backend.archive.documents_after(0, 1000)
        stories: dict[int, list[int]] = {}
        for doc in docs:
            stories.setdefault(doc.story_id or doc.id, []).append(doc.id)
        originals = {d.duplicate_of for d in docs}
        root = next(ids[0] for ids in stories.values() if len(ids) >= 3 and ids[0] not in originals)
        assert await services.corpus.repo.move_to_bin(root, admin_id=1) is not None
        hidden = next(d.id for d in docs if d.id not in originals and d.id != root)
        assert await services.corpus.repo.set_hidden(hidden, True, "", "")
        assert any(d.duplicate_of for d in docs), "the fixtures have near-duplicates"
    finally:
        await services.close()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    async with scratch_schema(postgres_database) as url:
        yield url


async def test_export_import_export_is_exact_on_sqlite_and_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    source = settings_for(tmp_path / "a")
    await build_corpus(source)
    first = tmp_path / "first.jsonl"
    assert await export_corpus(source, first) == 0
    exported = lines(first)
    assert any(e["hidden"] for e in exported)
    assert any(e["duplicate_of"] for e in exported)
    assert any(e["text"].startswith("Первые кварталы") for e in exported)  # type: ignore[union-attr]
    assert len({e["story"] for e in exported}) < len(exported)

    for target in (settings_for(tmp_path / "b"), settings_for(tmp_path / "c", database_url=postgres_url)):
        assert await import_corpus(target, first) == 0
        again = tmp_path / f"again-{target.database_url is not None}.jsonl"
        assert await export_corpus(target, again) == 0
        assert again.read_bytes() == first.read_bytes(), target.database_url
        # Search and stories behave as before.
        before = await Services.open(source, load_sample=False, read_only=True)
        after = await Services.open(target, load_sample=False, read_only=True)
        try:
            assert await search_titles(after) == await search_titles(before)
            assert [s.title for s in await after.summaries.stories(limit=50)] == [
                s.title for s in await before.summaries.stories(limit=50)
            ]
        finally:
            await before.close()
            await after.close()

    # Importing again adds nothing; a broken line is named and the rest goes in.
    target = settings_for(tmp_path / "b")
    assert await import_corpus(target, first) == 0
    broken = tmp_path / "broken.jsonl"
    extra = {
        **exported[0],
        "text": "Совсем другой текст о новостях Алатау, которого в базе ещё нет.",
        "hash": "x",
    }
    broken.write_text(
        '{"text": 1}\nnot json\n' + json.dumps(extra, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert await import_corpus(target, broken) == 1
    services = await Services.open(target, load_sample=False, read_only=True)
    try:
        assert await services.corpus.repo.count(include_hidden=True) == len(exported) + 1
    finally:
        await services.close()


async def test_migrate_db_copies_sqlite_into_an_empty_postgresql(tmp_path: Path, postgres_url: str) -> None:
    admin = 42
    async with local_bot(tmp_path, admin_ids=frozenset({admin})) as local:
        await local.services.corpus.ingest(TextInput(DECREE, source="t"))
        reader = local.emulator.create_user("Reader", id=505, started=True)
        screen = await say(reader, "/subscribe")
        await press(reader, screen, "sf:instant:0:1")
        await press(reader, screen, "sq:a:0:1")
        await local.services.corpus.ingest(TextInput(AIRPORT, source="t"))
        await reader.chat.wait_until(
            lambda: any((m.text or "").startswith("📰") for m in reader.chat.bot_messages), timeout=30
        )
        await local.digests.engine.wait_idle()
        await say(reader, "аэропорт")
        last = await local.services.corpus.ingest(TextInput(CRYPTO, source="t"))
        await local.digests.engine.wait_idle()
        assert last.id is not None
        await local.services.corpus.repo.move_to_bin(last.id, admin)  # its id must never be given again
        await local.services.audit.record(admin, "test", last.id)
        settings = local.settings
        before = await search_titles(local.services)
        subscription = await local.services.subscriptions.get(reader.id)

    assert await asyncio.to_thread(migrate_db, settings, postgres_url) == 0

    on_postgres = settings.model_copy(update={"database_url": postgres_url})
    services = await Services.open(on_postgres, load_sample=False)
    try:
        assert await search_titles(services) == before
        assert await services.subscriptions.get(reader.id) == subscription
        assert await services.users.count() >= 1
        assert await services.audit.count() >= 1
        sent = await services.deliveries.for_chat(reader.id)
        assert sent and all(d.state == "sent" for d in sent)
        new = await services.corpus.ingest(TextInput(CRYPTO.replace("песочниц", "лабораторию"), source="t"))
        assert new.id is not None and new.id > last.id
    finally:
        await services.close()

    # The derived index agrees with itself: document frequencies and totals as the postings say.
    conn = await asyncpg.connect(postgres_url)
    try:
        terms = dict(await conn.fetch("SELECT term, docs FROM doc_terms"))
        counted = dict(await conn.fetch("SELECT term, count(*) FROM postings GROUP BY term"))
        assert terms == counted
        totals = await conn.fetchrow("SELECT docs, tokens FROM index_totals")
        assert totals["docs"] == await conn.fetchval("SELECT count(*) FROM doc_index")
        assert totals["tokens"] == await conn.fetchval("SELECT sum(length) FROM doc_index")
    finally:
        await conn.close()

    # A target with content is refused, and left alone.
    with pytest.raises(StartupFailure, match="not empty"):
        await asyncio.to_thread(migrate_db, settings, postgres_url)
