"""The author a source gives (a feed's author or dc:creator, an article page's byline) is stored, shown on
the article's card beside its source, and kept by `export`/`import` and by `migrate-db` to PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.container import Services
from bot.app.export import export_corpus, import_corpus
from bot.app.migrate_db import migrate_db
from bot.app.settings import Settings
from storage.postgres.scratch import scratch_schema
from tests.e2e.helpers import local_bot, say, settings_for
from tests.e2e.test_sources import serve
from tests.sources_server import SourcesServer

pytestmark = pytest.mark.timeout(180)

AUTHORS = {
    "Жетыген": "Айгерим Сапарова",  # the feed's dc:creator
    "SEZ Alatau": "Daniyar Bekov",  # the feed's RSS <author>, "e-mail (Name)"
    "полигоне": "Ерлан Тулегенов",  # only on the article page (its byline)
}


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    async with scratch_schema(postgres_database) as url:
        yield url


async def authors(settings: Settings) -> dict[str, str | None]:
    services = await Services.open(settings, load_sample=False, read_only=True)
    try:
        docs = await services.backend.archive.documents_after(0, 100)
    finally:
        await services.close()
    return {word: next(d.author for d in docs if word in d.title) for word in AUTHORS}


async def test_the_author_is_stored_shown_exported_and_migrated(
    tmp_path: Path, sources_server: SourcesServer, postgres_url: str
) -> None:
    async with local_bot(tmp_path, sources_enabled=False, sources_host_delay_seconds=0.0) as local:
        source = await local.services.sources.add(serve(sources_server, "rss2.xml", "/daily.xml"))
        report = await local.services.sources.poll_one(source.id)
        assert len(report.added) == 3, report
        ids = {word: next(a.doc_id for a in report.added if word in a.title) for word in AUTHORS}
        reader = local.emulator.create_user("Reader", id=505, language_code="en", started=True)
        for word, author in AUTHORS.items():
            card = (await say(reader, f"/start doc_{ids[word]}")).text or ""
            assert f"Alatau Daily · by {author}" in card, card
        russian = local.emulator.create_user("Читатель", id=506, language_code="ru", started=True)
        card = (await say(russian, f"/start doc_{ids['Жетыген']}")).text or ""
        assert "Alatau Daily · автор: Айгерим Сапарова" in card, card
        settings = local.settings
    assert await authors(settings) == AUTHORS

    exported = tmp_path / "corpus.jsonl"
    assert await export_corpus(settings, exported) == 0
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert sorted(str(e["author"]) for e in lines) == sorted(AUTHORS.values())
    imported = settings_for(tmp_path / "imported")
    assert await import_corpus(imported, exported) == 0
    assert await authors(imported) == AUTHORS

    assert await asyncio.to_thread(migrate_db, settings, postgres_url) == 0
    assert await authors(settings.model_copy(update={"database_url": postgres_url})) == AUTHORS
