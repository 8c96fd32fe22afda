"""The long-lived objects of the application, built once and shared by the CLI, the bot and the scheduler."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app.settings import Settings
from bot.corpus.ingest import Corpus
from bot.search import SearchService
from bot.summaries import SummaryService
from bot.text.morph import Morphology
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    morph: Morphology
    corpus: Corpus
    search: SearchService
    summaries: SummaryService

    @classmethod
    async def open(cls, settings: Settings, *, load_sample: bool | None = None) -> Services:
        db = Database(settings.database_path)
        await db.connect()
        morph = Morphology()
        corpus = Corpus(db, morph, min_chars=settings.min_text_chars, max_chars=settings.max_text_chars)
        services = cls(
            settings=settings,
            db=db,
            morph=morph,
            corpus=corpus,
            search=SearchService(corpus),
            summaries=SummaryService(corpus),
        )
        if settings.load_sample_corpus if load_sample is None else load_sample:
            added = await corpus.ensure_sample()
            if added:
                log.info("empty database: loaded %d sample document(s)", added)
        return services

    async def close(self) -> None:
        await self.db.close()
