"""Ingest: turn a raw text into a stored, indexed document — or explain why not."""

from __future__ import annotations

import json
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING

from bot.corpus import dedup
from bot.corpus.batch import (
    MIN_SHARED_KEYS,
    PENDING,
    QUERY_KEYS,
    STORED_KEYS,
    STORY_CANDIDATES,
    STORY_PER_KEY,
    BatchPlan,
    Fingerprints,
    fingerprint_for,
    plan_batch,
    story_window,
)
from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.vocabulary import Vocabulary
from bot.text.morph import Morphology
from bot.text.normalize import (
    detect_language,
    make_title,
    normalize_text,
    parse_date,
    split_markers,
)
from bot.text.stories import (
    Basis,
    DocFeatures,
    StoryCandidate,
    assign,
    basis_of,
    features,
    stories_to_date,
    story_keys,
)
from storage.db import Database, StorageWriteError, WriteFailure, write_failure
from storage.documents import DocumentRepository
from storage.interfaces import DocumentStore, Transactions
from storage.models import Document, NewDocument

if TYPE_CHECKING:
    from bot.corpus.analysis_pool import AnalysisPool

log = logging.getLogger(__name__)

SAMPLE_SOURCE = "sample"
FINGERPRINT_CACHE = 20_000
# Texts per transaction of `ingest_many`. A larger batch costs the database less per text (fewer commits, and
# each index page it changes is written once for more texts: on 100,000 generated texts, 512 cost the
# database thread 0.93 ms per text against 1.25 ms for 64). Stories do not depend on it (see `_Lookup`).
BATCH_SIZE = 512


def strongest_keys(fp: dict[str, float], n: int) -> list[str]:
    return [k for k, _ in sorted(fp.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


class Status(StrEnum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near-duplicate"
    FAILED = "failed"


@dataclass(frozen=True)
class TextInput:
    """A text to ingest, as it came from a file, a JSONL line, a chat message or a forwarded post."""

    text: str
    source: str = ""
    title: str | None = None
    url: str | None = None
    date: str | None = None
    lang: str | None = None
    source_name: str | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything about a text that needs no database: computed anywhere, even in another process."""

    input: TextInput
    title: str
    text: str
    url: str | None
    source_name: str | None
    published: date | None
    lang: str
    content_hash: str
    features: DocFeatures
    words: tuple[str, ...]
    signature: bytes
    bands: tuple[int, ...]
    # the story fingerprint but for the corpus statistics, which only the writer knows (see `fingerprint_for`)
    basis: Basis


def analyse(item: TextInput, morph: Morphology, min_chars: int, max_chars: int) -> Analysis:
    """Normalize, read the metadata, compute terms, fingerprints and signatures. Raises IngestError."""
    meta = split_markers(item.text)
    body = meta.text
    if not body.strip():
        raise UploadError(UploadReason.TEXT_EMPTY)
    if len(body) > max_chars:
        raise UploadError(UploadReason.TOO_LONG, chars=len(body), max=max_chars)
    if len(body) < min_chars:
        raise UploadError(UploadReason.TOO_SHORT, chars=len(body), min=min_chars)
    title = normalize_text(item.title) if item.title and item.title.strip() else meta.title
    title = title or make_title(body)
    # A date further down the body is a mention («вступит в силу с 1 марта 2027 года»), not when it was written.
    published = (parse_date(item.date) if item.date else None) or meta.published
    lang = item.lang if item.lang in {"ru", "kk", "en"} else detect_language(body)
    feats = features(body, title, morph)
    sig = dedup.signature(feats.terms)
    return Analysis(
        input=item,
        title=title,
        text=body,
        url=item.url or meta.url,
        source_name=item.source_name,
        published=published,
        lang=lang,
        content_hash=dedup.content_hash(body, feats.tokens),
        features=feats,
        words=feats.words,
        signature=dedup.to_blob(sig),
        bands=dedup.bands(sig),
        basis=basis_of(feats),
    )


@dataclass(frozen=True)
class Prepared(Analysis):
    """A text analysed and checked against the corpus, ready to save: what an admin sees in the preview."""

    duplicate: Document | None
    near_duplicate: Document | None
    near_similarity: float

    @property
    def body_terms(self) -> tuple[str, ...]:
        return self.features.terms

    @property
    def title_terms(self) -> tuple[str, ...]:
        return self.features.title_terms

    @property
    def status(self) -> Status:
        if self.duplicate is not None:
            return Status.DUPLICATE
        if self.near_duplicate is not None:
            return Status.NEAR_DUPLICATE
        return Status.ADDED


@dataclass(frozen=True)
class IngestResult:
    status: Status
    source: str
    id: int | None = None
    url: str | None = None
    title: str | None = None
    reason: str | None = None
    duplicate_of: int | None = None
    story_id: int | None = None
    # Why it failed, typed (`reason` is its English sentence, for the CLI and the JSON report).
    error: UploadError | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "url": self.url,
            "status": self.status.value,
            "reason": self.reason,
            "source": self.source,
            "title": self.title,
            "duplicate_of": self.duplicate_of,
            "story_id": self.story_id,
        }


# A text the engine refuses (empty, too short, too long): the one typed error of uploads.
IngestError = UploadError


INTERNAL_ERROR = UploadError(UploadReason.INTERNAL)

# Why a text was not saved when the storage stopped taking writes.
_STOPPED = {WriteFailure.DISK_FULL: UploadReason.DISK_FULL, WriteFailure.READ_ONLY: UploadReason.READ_ONLY}
STOP_REASONS = frozenset(_STOPPED.values())

# Awaited with the texts being saved, inside the transaction that saves them: what it writes (an audit row,
# a progress counter) is committed with them, or not at all.
SavedHook = Callable[[Sequence["IngestResult"]], Awaitable[None]]


def stop_error(exc: StorageWriteError) -> UploadError:
    """The refusal of a text that was not saved because the storage stopped taking writes."""
    return UploadError(_STOPPED[exc.reason])


def stopped_by_storage(result: IngestResult) -> bool:
    """Not saved because the disk was full or the database read-only (not the text's fault)."""
    return result.error is not None and result.error.reason in STOP_REASONS


class _BatchFailed(Exception):
    pass


class _WriteStopped(Exception):
    """The storage refused a write: `done` were committed before it, `rest` of the batch were not."""

    def __init__(
        self,
        error: StorageWriteError,
        done: list[IngestResult],
        rest: list[tuple[TextInput, Analysis | Exception]],
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.done = done
        self.rest = rest


def _saved(results: Iterable[IngestResult]) -> list[IngestResult]:
    return [r for r in results if r.id is not None and r.status in (Status.ADDED, Status.NEAR_DUPLICATE)]


def _tracked(items: Iterable[TextInput], taken: deque[TextInput]) -> Iterator[TextInput]:
    """`items`, each noted in `taken` as it is handed out (analysis may run ahead of saving)."""
    for item in items:
        taken.append(item)
        yield item


def _failed(item: TextInput, error: UploadError) -> IngestResult:
    return IngestResult(
        Status.FAILED, item.source, url=item.url, title=item.title, reason=str(error), error=error
    )


class TermStats:
    """Document frequencies of terms, kept in memory for story fingerprints (IDF) and query planning."""

    def __init__(self) -> None:
        self.df: Counter[str] = Counter()
        self.n_docs = 0
        self.loaded = False

    async def load(self, documents: DocumentStore) -> None:
        self.df = Counter(await documents.term_frequencies())
        self.n_docs = await documents.indexed_count()
        self.loaded = True

    def add(self, terms: Iterable[str]) -> None:
        self.df.update(set(terms))
        self.n_docs += 1

    def remove(self, terms: Iterable[str]) -> None:
        self.df.subtract(set(terms))
        self.n_docs -= 1

    def get(self, term: str) -> int:
        return self.df.get(term, 0)


class Corpus:
    """The corpus engine's write side; the CLI and the admin handlers both call it."""

    def __init__(
        self,
        db: Transactions,
        morph: Morphology,
        *,
        min_chars: int = 200,
        max_chars: int = 200_000,
        repo: DocumentStore | None = None,
    ) -> None:
        self.db = db
        if repo is None:
            # Only SQLite's can be made from the database alone; another backend passes its store.
            if not isinstance(db, Database):
                raise TypeError("Corpus needs the document store of this backend")
            repo = DocumentRepository(db)
        self.repo: DocumentStore = repo
        self.morph = morph
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.term_stats = TermStats()
        self.vocab = Vocabulary()
        self.fingerprints = Fingerprints(FINGERPRINT_CACHE)
        # Called with the ids of newly stored documents once they are committed (instant digests listen).
        # A listener must return at once — schedule its work — and its failure never fails an ingest.
        self.on_saved: list[Callable[[list[int]], None]] = []
        # Moves after every write that can change what a search finds (new, hidden, deleted, edited texts),
        # once the write has ended either way: a search result is reusable only while it stays the same.
        self.generation = 0
        # Called after each such write, once it has ended (bot/app tells the bot's other processes).
        self.on_changed: list[Callable[[], None]] = []

    def changed(self) -> None:
        self.generation += 1
        for listener in list(self.on_changed):
            try:
                listener()
            except Exception:
                log.exception("a listener of corpus changes failed")

    def refresh(self) -> None:
        """Another process changed the corpus: what this one remembers of it is read again when next needed
        (term statistics, the typo vocabulary, fingerprints), and cached search results are dropped."""
        self.term_stats.loaded = False
        self.vocab.loaded = False
        self.fingerprints.clear()
        self.generation += 1

    async def stats(self) -> TermStats:
        if not self.term_stats.loaded:
            await self.term_stats.load(self.repo)
        return self.term_stats

    async def vocabulary(self) -> Vocabulary:
        if not self.vocab.loaded:
            self.vocab.load(await self.repo.vocabulary())
        return self.vocab

    async def prepare(self, item: TextInput) -> Prepared:
        """Analyse a text without saving it. Raises IngestError with a reason a person can act on."""
        return await self.prepare_analysed(analyse(item, self.morph, self.min_chars, self.max_chars))

    async def prepare_analysed(self, a: Analysis) -> Prepared:
        """The database half of preparing: is it a duplicate, or a republication of something stored?"""
        duplicate = await self.repo.by_hash(a.content_hash)
        sig = dedup.from_blob(a.signature)
        near, near_sim = (None, 0.0) if duplicate else await self._near_duplicate(sig, a.bands)
        values = {f.name: getattr(a, f.name) for f in fields(Analysis)}
        return Prepared(**values, duplicate=duplicate, near_duplicate=near, near_similarity=near_sim)

    async def _near_duplicate(self, sig: object, bands: tuple[int, ...]) -> tuple[Document | None, float]:
        ids = await self.repo.band_candidates(bands)
        best_id, best = None, 0.0
        for doc_id, blob in (await self.repo.minhashes(ids)).items():
            sim = dedup.similarity(sig, dedup.from_blob(blob))  # type: ignore[arg-type]
            if sim > best:
                best_id, best = doc_id, sim
        if best_id is None or best < dedup.NEAR_DUPLICATE:
            return None, best
        original = await self.repo.get(best_id)
        # Link to the first publication, not to another republication of it.
        if original and original.duplicate_of is not None:
            original = await self.repo.get(original.duplicate_of) or original
        return original, best

    async def save(self, prepared: Prepared, with_saved: SavedHook | None = None) -> IngestResult:
        """Store a prepared text atomically; an exact duplicate is refused. `with_saved` is awaited with the
        saved text inside its transaction. A full disk or read-only database raises StorageWriteError."""
        try:
            async with self.db.transaction():
                result, pending = await self._save(prepared)
                if with_saved is not None and pending is not None:
                    await with_saved([result])
        except StorageWriteError:
            raise
        except Exception as exc:
            # A concurrent insert of the same text loses the UNIQUE race: that is a duplicate, not a crash.
            existing = await self.repo.by_hash(prepared.content_hash)
            if existing is None:
                raise
            log.info("duplicate detected at insert time: %s", exc)
            return IngestResult(
                Status.DUPLICATE,
                prepared.input.source,
                id=existing.id,
                url=prepared.url,
                duplicate_of=existing.id,
            )
        finally:
            # Reads share the connection and may have seen the open transaction, committed or not.
            self.changed()
        self._apply(pending)
        if pending is not None and result.id is not None:
            self._notify_saved([result.id])
        return result

    def _apply(self, pending: Prepared | None) -> None:
        """In-memory statistics follow the database only once the document is committed."""
        if pending is None:
            return
        self.term_stats.add(set(pending.features.terms) | set(pending.features.title_terms))
        if self.vocab.loaded:
            self.vocab.add(pending.words)

    async def _save(self, prepared: Prepared) -> tuple[IngestResult, Prepared | None]:
        """Insert one prepared text, in the caller's transaction (a batch goes through `plan_batch`)."""
        source = prepared.input.source
        if prepared.duplicate is not None:
            return IngestResult(
                Status.DUPLICATE,
                source,
                id=prepared.duplicate.id,
                url=prepared.url,
                title=prepared.title,
                reason=f"the same text is already stored as document {prepared.duplicate.id}",
                duplicate_of=prepared.duplicate.id,
                story_id=prepared.duplicate.story_id,
            ), None
        fp = fingerprint_for(prepared, await self.stats())
        near = prepared.near_duplicate
        story_id = near.story_id if near else await self._find_story(prepared.published, fp, prepared.lang)
        new = NewDocument(
            title=prepared.title,
            text=prepared.text,
            url=prepared.url,
            source_name=prepared.source_name,
            published=prepared.published,
            lang=prepared.lang,
            content_hash=prepared.content_hash,
            title_terms=" ".join(prepared.title_terms),
            body_terms=" ".join(prepared.body_terms),
            minhash=prepared.signature,
            bands=prepared.bands,
            fingerprint=json.dumps(fp, ensure_ascii=False, separators=(",", ":")),
            words=prepared.words,
            story_keys=tuple(story_keys(fp, STORED_KEYS)),
            duplicate_of=near.id if near else None,
            story_id=story_id,
        )
        doc_id = await self.repo.add(new)
        status = Status.NEAR_DUPLICATE if near else Status.ADDED
        return IngestResult(
            status,
            source,
            id=doc_id,
            url=prepared.url,
            title=prepared.title,
            reason=(
                f"near-duplicate of document {near.id} ({prepared.near_similarity:.0%} similar)"
                if near
                else None
            ),
            duplicate_of=near.id if near else None,
            story_id=story_id or doc_id,
        ), prepared

    async def _find_story(self, published: date | None, fp: dict[str, float], lang: str) -> int | None:
        keys = story_keys(fp, QUERY_KEYS)
        start, end = story_window(published)
        rows = await self.repo.story_candidates(
            keys, None, None, STORY_CANDIDATES, STORY_PER_KEY, min_shared=MIN_SHARED_KEYS
        )
        rows += await self.repo.story_candidates(
            keys, start, end, STORY_CANDIDATES, STORY_PER_KEY, min_shared=MIN_SHARED_KEYS
        )
        candidates = [
            StoryCandidate(
                r.doc_id,
                r.story_id or r.doc_id,
                r.published,
                r.lang,
                self.fingerprints.parse(r.doc_id, r.fingerprint),
            )
            for r in rows
        ]
        new = StoryCandidate(0, 0, published, lang, fp)
        # An undated candidate is as old as its story: its dated reports tell how far it is from this one.
        story_dates = {
            story: [d.published for d in await self.repo.story_members(story) if d.published]
            for story in stories_to_date(new, candidates)
        }
        return assign(new, candidates, story_dates)

    def indexed(self, terms: Iterable[str], words: Iterable[str] = ()) -> None:
        """Terms an admin put (back) into the index: a shown or restored text, a new title. The in-memory
        frequencies must know them, or search would take them for words no text has. A term counted twice
        only looks a little more common than it is."""
        if self.term_stats.loaded:
            self.term_stats.df.update(set(terms))
        if self.vocab.loaded:
            self.vocab.add(words)

    async def ingest(self, item: TextInput) -> IngestResult:
        try:
            prepared = await self.prepare(item)
        except IngestError as exc:
            return _failed(item, exc)
        return await self.save(prepared)

    async def ingest_many(
        self,
        items: Iterable[TextInput],
        on_result: Callable[[IngestResult], None] | None = None,
        pool: AnalysisPool | None = None,
        with_saved: SavedHook | None = None,
    ) -> AsyncIterator[IngestResult]:
        """Ingest many texts, a batch per transaction (much faster than one commit each); one result per
        item, in order. `with_saved` is awaited with each batch's saved texts inside its transaction.

        With a `pool`, texts are analysed in a worker process ahead of the database work. Each text is
        still all-or-nothing, and one bad item never stops the rest (see `_ingest_batch`) — except a full
        disk or a read-only database (StorageWriteError): that stops the run at the first refused write.
        The batch being written is rolled back whole; its texts and every item not reached yet come out
        FAILED with the reason DISK_FULL or READ_ONLY (the rest are read to be named, not analysed), so a
        report built from the results accounts for every item.
        """
        taken: deque[TextInput] = deque()
        source = _tracked(items, taken)
        batch: list[tuple[TextInput, Analysis | Exception]] = []
        stopped: _WriteStopped | None = None
        pairs = pool.map(source) if pool is not None else self._analyse_here(source)
        try:
            async for pair in pairs:
                taken.popleft()
                batch.append(pair)
                if len(batch) < BATCH_SIZE:
                    continue
                try:
                    results = await self._ingest_batch(batch, with_saved)
                except _WriteStopped as exc:
                    stopped = exc
                    break
                batch = []
                for result in results:
                    yield self._emit(result, on_result)
        finally:
            # Analysis running ahead is abandoned (a stop, or the caller stopped reading).
            aclose = getattr(pairs, "aclose", None)
            if aclose is not None:
                await aclose()
        if stopped is None and batch:
            try:
                for result in await self._ingest_batch(batch, with_saved):
                    yield self._emit(result, on_result)
            except _WriteStopped as exc:
                stopped = exc
        if stopped is None:
            return
        log.warning("writing stopped (%s): the rest of this run is not saved", stopped.error.detail)
        refusal = stop_error(stopped.error)
        for result in stopped.done:
            yield self._emit(result, on_result)
        for item, analysis in stopped.rest:
            # A text refused on its own merits says so; the others were lost to the failed write.
            failure = self._analysis_failure(item, analysis) or _failed(item, refusal)
            yield self._emit(failure, on_result)
        for _ in source:  # the items not reached: read (to be named, each noted in `taken`), not analysed
            pass
        while taken:
            yield self._emit(_failed(taken.popleft(), refusal), on_result)

    @staticmethod
    def _emit(result: IngestResult, on_result: Callable[[IngestResult], None] | None) -> IngestResult:
        if on_result is not None:
            on_result(result)
        return result

    async def _analyse_here(
        self, items: Iterable[TextInput]
    ) -> AsyncIterator[tuple[TextInput, Analysis | Exception]]:
        for item in items:
            try:
                yield item, analyse(item, self.morph, self.min_chars, self.max_chars)
            except Exception as exc:
                yield item, exc

    async def _ingest_batch(
        self, pairs: list[tuple[TextInput, Analysis | Exception]], with_saved: SavedHook | None = None
    ) -> list[IngestResult]:
        try:
            return await self._ingest_batch_at_once(pairs, with_saved)
        except _BatchFailed as failed:
            stop = write_failure(failed.__cause__) if failed.__cause__ is not None else None
            if stop is not None:
                # No space or no permission: one text at a time would fail the same way. Stop here.
                raise _WriteStopped(stop, [], pairs) from failed.__cause__
        # Something else failed while saving: the batch was rolled back whole; now each text gets its own
        # transaction, so only the faulty one is lost (and reported).
        results: list[IngestResult] = []
        for i, (item, analysis) in enumerate(pairs):
            try:
                results.append(await self._ingest_safely(item, analysis, with_saved))
            except StorageWriteError as exc:
                raise _WriteStopped(exc, results, pairs[i:]) from exc
        return results

    def _analysis_failure(self, item: TextInput, analysis: Analysis | Exception) -> IngestResult | None:
        if isinstance(analysis, IngestError):
            return _failed(item, analysis)
        if isinstance(analysis, Exception):
            log.error("analysis failed for %s", item.source, exc_info=analysis)
            return _failed(item, INTERNAL_ERROR)
        return None

    async def _ingest_batch_at_once(
        self, pairs: list[tuple[TextInput, Analysis | Exception]], with_saved: SavedHook | None = None
    ) -> list[IngestResult]:
        """The batch in one transaction and a few round trips (see `bot.corpus.batch`): a text the database
        refuses is rolled back alone and reported; the others are stored."""
        results: list[IngestResult | None] = [None] * len(pairs)
        analysed: list[tuple[int, Analysis]] = []
        for pos, (item, analysis) in enumerate(pairs):
            failure = self._analysis_failure(item, analysis)
            if failure is not None or isinstance(analysis, Exception):
                results[pos] = failure or _failed(item, INTERNAL_ERROR)
            else:
                analysed.append((pos, analysis))
        try:
            async with self.db.transaction():
                stats = await self.stats()
                # Statistics move with each planned text: the next one of the batch must see it (story
                # fingerprints weigh words by how common they are).
                plan = await plan_batch(self.repo, analysed, stats, self.fingerprints)
                ids = await self.repo.add_many(plan.documents())
                self._results(plan, ids, [item for item, _ in pairs], results)
                done = [r for r in results if r is not None]
                saved = _saved(done)
                if with_saved is not None and saved:
                    await with_saved(saved)
        except Exception as exc:
            if write_failure(exc) is None:
                log.warning("batch of %d texts rolled back (%s); retrying one by one", len(pairs), exc)
            # The in-memory statistics counted texts that are no longer there: read them again.
            self.term_stats.loaded = False
            self.vocab.loaded = False
            raise _BatchFailed from exc
        finally:
            self.changed()
        if self.vocab.loaded:
            for p, doc_id in zip(plan.planned, ids, strict=True):
                if doc_id is not None:
                    self.vocab.add(p.analysis.words)
        if saved:
            self._notify_saved([r.id for r in saved if r.id is not None])
        return done

    def _results(
        self,
        plan: BatchPlan,
        ids: list[int | None],
        items: list[TextInput],
        results: list[IngestResult | None],
    ) -> None:
        """Each planned text's result, now that its id (or its refusal) is known."""
        stories: list[int | None] = []
        for index, (p, doc_id) in enumerate(zip(plan.planned, ids, strict=True)):
            a = p.analysis
            if doc_id is None:
                log.error("the database refused %s", items[p.pos].source)
                self.term_stats.remove(set(a.features.terms) | set(a.features.title_terms))
                results[p.pos] = _failed(items[p.pos], INTERNAL_ERROR)
                stories.append(None)
                continue
            # A story started by a text of this batch that was refused is this text's own.
            story = ids[p.story - PENDING] if p.story >= PENDING else p.story
            story = story if story is not None and p.story != PENDING + index else doc_id
            stories.append(story)
            original = p.near_id if p.near_index is None else ids[p.near_index]
            # The next batches meet it as a candidate: no need to parse what is at hand.
            self.fingerprints.remember(doc_id, p.fingerprint)
            results[p.pos] = IngestResult(
                Status.NEAR_DUPLICATE if original is not None else Status.ADDED,
                items[p.pos].source,
                id=doc_id,
                url=a.url,
                title=a.title,
                reason=(
                    f"near-duplicate of document {original} ({p.near_similarity:.0%} similar)"
                    if original is not None
                    else None
                ),
                duplicate_of=original,
                story_id=story,
            )
        for r in plan.repeated:
            item, a = items[r.pos], r.analysis
            same_id: int | None
            if r.doc is not None:
                same_id, same_story = r.doc.id, r.doc.story_id
            else:
                assert r.index is not None
                same_id, same_story = ids[r.index], stories[r.index]
            if same_id is None:  # the same text, refused just before
                results[r.pos] = _failed(item, INTERNAL_ERROR)
                continue
            results[r.pos] = IngestResult(
                Status.DUPLICATE,
                item.source,
                id=same_id,
                url=a.url,
                title=a.title,
                reason=f"the same text is already stored as document {same_id}",
                duplicate_of=same_id,
                story_id=same_story,
            )

    async def _ingest_safely(
        self, item: TextInput, analysis: Analysis | Exception, with_saved: SavedHook | None = None
    ) -> IngestResult:
        """One text in its own transaction; any failure is its own, except StorageWriteError (raised)."""
        failure = self._analysis_failure(item, analysis)
        if failure is not None or isinstance(analysis, Exception):
            return failure or _failed(item, INTERNAL_ERROR)
        try:
            return await self.save(await self.prepare_analysed(analysis), with_saved)
        except StorageWriteError:
            raise
        except Exception:
            log.exception("ingest failed for %s", item.source)
            return _failed(item, INTERNAL_ERROR)

    async def ensure_sample(self) -> int:
        """Load the bundled sample corpus into an empty database; returns how many documents were added."""
        if await self.repo.count(include_hidden=True) > 0:
            return 0
        added = 0
        for entry in sorted(resources.files("bot.corpus").joinpath("sample").iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".txt"):
                item = TextInput(
                    entry.read_text(encoding="utf-8"), source=entry.name, source_name=SAMPLE_SOURCE
                )
                result = await self.ingest(item)
                added += result.status in (Status.ADDED, Status.NEAR_DUPLICATE)
        return added

    def _notify_saved(self, doc_ids: list[int]) -> None:
        for listener in list(self.on_saved):
            try:
                listener(doc_ids)
            except Exception:
                log.exception("a listener of saved documents failed")
