"""The one place where the evaluation touches the bot's code.

Everything else in bench/quality is independent of the bot: when the bot's modules move, fix the imports
here (and only here). The evaluation drives the bot exactly as an operator would: the texts go in as one
JSONL upload through the same extraction and ingest path as `python -m bot ingest feed.jsonl`, searches
go through the search service the handlers use, summaries through the summary service the cards use.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.app.container import Services
from bot.app.settings import Settings
from bot.corpus.extract import ExtractFailure, extract_bytes
from bot.corpus.ingest import TextInput
from bot.corpus.uploads import to_input
from storage.postgres.scratch import create_database, drop_database

UPLOAD_NAME = "eval.jsonl"


@dataclass(frozen=True)
class Upload:
    """One text as an operator uploads it: a JSONL line (`text` plus the optional metadata a feed has)."""

    key: str  # our text id; never shown to the bot
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Stored:
    """What the bot made of one uploaded text."""

    key: str
    doc_id: int | None  # None: refused (the reason says why)
    status: str
    reason: str | None
    title: str | None
    body: str | None
    published: date | None
    lang: str | None
    story_id: int | None
    duplicate_of: int | None


class BotSystem:
    """The bot under test, on a fresh database of its own."""

    def __init__(self, services: Services, dropped: Callable[[], Awaitable[None]] | None = None) -> None:
        self._services = services
        self._dropped = dropped

    @classmethod
    async def open(cls, db_path: Path, server_url: str | None = None) -> BotSystem:
        """On SQLite at `db_path`, or on a fresh database made on the PostgreSQL server of `server_url`."""
        url = await create_database(server_url, "alatau_eval") if server_url else None
        # No .env: the figures must not depend on the machine's settings.
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_path=db_path, database_url=url, load_sample_corpus=False
        )
        try:
            services = await Services.open(settings, load_sample=False)
        except BaseException:
            if server_url and url:
                await drop_database(server_url, url)
            raise
        if server_url and url:
            return cls(services, lambda: drop_database(server_url, url))
        return cls(services)

    async def close(self) -> None:
        await self._services.close()
        if self._dropped is not None:
            await self._dropped()

    async def ingest(self, uploads: Sequence[Upload]) -> dict[str, Stored]:
        lines = []
        for u in uploads:
            record: dict[str, str] = {"text": u.text}
            for name in ("title", "url", "date"):
                value = getattr(u, name)
                if value:
                    record[name] = value
            lines.append(json.dumps(record, ensure_ascii=False))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        by_source = {f"{UPLOAD_NAME}:{n}": u.key for n, u in enumerate(uploads, start=1)}
        # our key → (status, reason, stored document id)
        results: dict[str, tuple[str, str | None, int | None]] = {}
        inputs: list[TextInput] = []
        for item in extract_bytes(UPLOAD_NAME, data):
            if isinstance(item, ExtractFailure):
                results[by_source.get(item.source, item.source)] = ("failed", item.reason, None)
            else:
                inputs.append(to_input(item))
        async for result in self._services.corpus.ingest_many(inputs):
            results[by_source[result.source]] = (str(result.status.value), result.reason, result.id)
        out: dict[str, Stored] = {}
        repo = self._services.corpus.repo
        for u in uploads:
            status, reason, doc_id = results.get(u.key, ("failed", "no result from the ingest", None))
            doc = await repo.get(doc_id) if doc_id is not None else None
            out[u.key] = Stored(
                key=u.key,
                doc_id=doc.id if doc else None,
                status=status,
                reason=reason,
                title=doc.title if doc else None,
                body=doc.text if doc else None,
                published=doc.published if doc else None,
                lang=doc.lang if doc else None,
                story_id=(doc.story_id or doc.id) if doc else None,
                duplicate_of=doc.duplicate_of if doc else None,
            )
        return out

    async def search(self, query: str, k: int = 10) -> list[int]:
        """Document ids of the first `k` results, as a reader pages through them."""
        result = await self._services.search.search(query, limit=k)
        return [hit.document.id for hit in result.hits]

    async def summary(self, doc_id: int, sentences: int = 2) -> list[str]:
        """The summary a card shows: `sentences` whole sentences of the stored text."""
        doc = await self._services.corpus.repo.get(doc_id)
        if doc is None:
            return []
        return self._services.summaries.summarize_document(doc, sentences)
