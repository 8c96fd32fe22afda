"""The whole corpus as JSON Lines, and back: `python -m bot export FILE` / `import FILE`.

One line per document, in the order they were saved: its text, title, source, author, url, publication
date, language, hidden flag and times exactly as stored, and two references by content hash (`hash`): the
original it republishes (`duplicate_of`) and its story (`story`: the hash of the story's first document in
the file). Ids are not exported: they are this database's, and another would give others.

Import is a faithful restore, not the ingest path. Ingest would read the text again as a new upload:
take a headline-like first line of the stored body for a title and cut it off, refuse texts shorter than
today's MIN_TEXT_CHARS, date an undated text, and group stories anew in whatever order the lines come.
Restoring stores each field as exported and the links as exported, and computes only what is derived from
the text (index terms, signatures, story keys) as ingest does, so that search and later uploads treat the
restored documents like any other. Export → import into an empty database → export gives the same file.
A document whose text is already stored is skipped, so an import can be run again or merged into a corpus.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.corpus import dedup
from bot.corpus.batch import MIN_IDF_DOCS, STORED_KEYS
from bot.corpus.ingest import Corpus
from bot.text.stories import features, fingerprint_of, story_keys
from storage.interfaces import ArchiveStore
from storage.models import Document, NewDocument

log = logging.getLogger(__name__)

PAGE = 500


def _line(doc: Document, story: str, duplicate_of: str | None) -> str:
    entry = {
        "hash": doc.content_hash,
        "title": doc.title,
        "text": doc.text,
        "url": doc.url,
        "source_name": doc.source_name,
        "author": doc.author,
        "published": doc.published.isoformat() if doc.published else None,
        "lang": doc.lang,
        "hidden": doc.hidden,
        "created_at": doc.created_at.isoformat(),
        "updated_at": doc.updated_at.isoformat(),
        "duplicate_of": duplicate_of,
        "story": story,
    }
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


@dataclass
class ImportReport:
    added: int = 0
    already_stored: int = 0  # the same text is in the database: skipped
    failed: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    unresolved: int = 0  # a link to a document neither in the file before it nor in the database


class LineError(ValueError):
    pass


def _text(entry: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise LineError(f"{key!r} must be {'a non-empty ' if required else 'a '}string")
    return value


def _time(entry: dict[str, Any], key: str) -> datetime:
    raw = _text(entry, key, required=True)
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise LineError(f"{key!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise LineError(f"{key!r} needs a time zone")
    return value


@dataclass(frozen=True)
class _Entry:
    hash: str  # as exported: what other lines refer to
    title: str
    text: str
    url: str | None
    source_name: str | None
    published: date | None
    lang: str
    hidden: bool
    created_at: datetime
    updated_at: datetime
    duplicate_of: str | None
    story: str | None
    author: str | None = None  # absent from files exported before authors were kept

    @classmethod
    def parse(cls, raw: str) -> _Entry:
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LineError(f"not JSON ({exc.msg})") from None
        if not isinstance(entry, dict):
            raise LineError("not a JSON object")
        text = str(_text(entry, "text", required=True))
        published = _text(entry, "published")
        try:
            day = date.fromisoformat(published) if published else None
        except ValueError:
            raise LineError("'published' is not a YYYY-MM-DD date") from None
        hidden = entry.get("hidden", False)
        if not isinstance(hidden, bool):
            raise LineError("'hidden' must be true or false")
        return cls(
            hash=_text(entry, "hash") or dedup.content_hash(text),
            title=str(_text(entry, "title", required=True)),
            text=text,
            url=_text(entry, "url"),
            source_name=_text(entry, "source_name"),
            published=day,
            lang=str(_text(entry, "lang", required=True)),
            hidden=hidden,
            created_at=_time(entry, "created_at"),
            updated_at=_time(entry, "updated_at"),
            duplicate_of=_text(entry, "duplicate_of"),
            story=_text(entry, "story"),
            author=_text(entry, "author"),
        )


class CorpusArchive:
    """Export and import of the whole corpus (see the module's docstring)."""

    def __init__(self, corpus: Corpus, archive: ArchiveStore) -> None:
        self.corpus = corpus
        self.archive = archive

    async def export(self) -> AsyncIterator[str]:
        """One JSON line per document (without the newline), in id order."""
        labels: dict[int, str] = {}  # story id -> the hash of its first document in the file
        hashes: dict[int, str] = {}  # document id -> hash, for duplicate links (they point back)
        after = 0
        while batch := await self.archive.documents_after(after, PAGE):
            for doc in batch:
                story = labels.setdefault(doc.story_id or doc.id, doc.content_hash)
                hashes[doc.id] = doc.content_hash
                original = doc.duplicate_of
                duplicate_of = hashes.get(original) if original is not None else None
                if original is not None and duplicate_of is None:
                    found = await self.corpus.repo.get(original)
                    duplicate_of = found.content_hash if found else None
                yield _line(doc, story, duplicate_of)
            after = batch[-1].id

    async def import_lines(self, lines: Iterable[str]) -> ImportReport:
        report = ImportReport()
        ids: dict[str, int] = {}  # exported hash -> id here
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                entry = _Entry.parse(raw)
            except LineError as exc:
                report.failed.append((number, str(exc)))
                continue
            content_hash = dedup.content_hash(entry.text)
            existing = await self.corpus.repo.by_hash(content_hash)
            if existing is not None:
                ids[entry.hash] = existing.id
                report.already_stored += 1
                continue
            try:
                ids[entry.hash] = await self._restore(entry, content_hash, ids, report)
            except Exception as exc:
                log.debug("import of line %d failed", number, exc_info=True)
                report.failed.append((number, f"{type(exc).__name__}: {exc}"))
                continue
            report.added += 1
        self.corpus.changed()
        return report

    async def _resolve(self, ref: str | None, ids: dict[str, int], report: ImportReport) -> Document | None:
        if ref is None:
            return None
        found = await self.corpus.repo.get(ids[ref]) if ref in ids else await self.corpus.repo.by_hash(ref)
        if found is None:
            report.unresolved += 1
        return found

    async def _restore(
        self, entry: _Entry, content_hash: str, ids: dict[str, int], report: ImportReport
    ) -> int:
        original = await self._resolve(entry.duplicate_of, ids, report)
        # The first document of its story starts it (story None); the others join the story it started.
        first = None if entry.story in (None, entry.hash) else await self._resolve(entry.story, ids, report)
        f = features(entry.text, entry.title, self.corpus.morph)
        signature = dedup.signature(f.terms)
        stats = await self.corpus.stats()
        own = set(f.terms) | set(f.title_terms)
        fp = fingerprint_of(f, lambda t: stats.get(t) + (t in own), max(stats.n_docs + 1, MIN_IDF_DOCS))
        new = NewDocument(
            title=entry.title,
            text=entry.text,
            url=entry.url,
            source_name=entry.source_name,
            published=entry.published,
            lang=entry.lang,
            content_hash=content_hash,
            title_terms=" ".join(f.title_terms),
            body_terms=" ".join(f.terms),
            minhash=dedup.to_blob(signature),
            bands=dedup.bands(signature),
            fingerprint=json.dumps(fp, ensure_ascii=False, separators=(",", ":")),
            words=f.words,
            story_keys=tuple(story_keys(fp, STORED_KEYS)),
            duplicate_of=original.id if original else None,
            story_id=(first.story_id or first.id) if first else None,
        )
        doc_id = await self.archive.restore(
            new,
            hidden=entry.hidden,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            author=entry.author,
        )
        if not entry.hidden:
            stats.add(own)
            if self.corpus.vocab.loaded:
                self.corpus.vocab.add(f.words)
        return doc_id
