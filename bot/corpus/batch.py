"""Planning a batch of analysed texts for storage in a few round trips instead of several per text.

The database is asked three things for the whole batch at once (which texts are stored already, which stored
texts share MinHash bands with them, which stored texts share story keys with them); everything else is
decided here, in order, text by text, with the batch's earlier texts known in memory — exactly as if each
had been stored before the next was looked at: a text can repeat, republish or join the story of one that
came earlier in the same batch.
"""

from __future__ import annotations

import bisect
import heapq
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.corpus import dedup
from bot.text.stories import StoryCandidate, assign, stories_to_date, story_keys, weigh
from storage.interfaces import DocumentStore
from storage.models import Document, FeatureRow, NewDocument, StoryQuery

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bot.corpus.ingest import Analysis, TermStats

# Stories are looked for among documents published this many days around the new one.
STORY_WINDOW_DAYS = 7
STORY_CANDIDATES = 60
STORY_PER_KEY = 25
# Candidates asked for past the limit when texts of the batch may push some out (see `_Lookup`): with 20, on
# the bench's corpus, the whole ranking is needed for about one lookup in N.
STORY_MARGIN = 20
# Two reports of one event share several of their strongest keys: on the story fixtures every pair of
# reports of one event shares at least two of 10 stored / 14 looked-up keys (with 9 stored, or 8 / 12,
# two pairs shared only one). Skipping documents that share a single key keeps story matching cheap at scale.
MIN_SHARED_KEYS = 2
# Each document is findable by its strongest fingerprint keys; a new one looks up a few more of its own,
# so that two reports of one event meet even when their top keys are ordered differently.
STORED_KEYS = 10
QUERY_KEYS = 14
MIN_IDF_DOCS = 50

# A story started by a text of this batch has no id yet: it is called PENDING + the text's place in the plan.
# Above every stored id, so that a tie between stories still goes to the older one (see `assign`).
PENDING = 1 << 62


class Fingerprints:
    """Stored fingerprints, parsed, by document id: parsing the candidates' is the cost of story matching, and
    a stored fingerprint never changes, so each is parsed once; the `size` latest are kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parsed: dict[int, dict[str, float]] = {}

    def get(self, doc_id: int) -> dict[str, float] | None:
        return self._parsed.get(doc_id)

    def parse(self, doc_id: int, raw: str) -> dict[str, float]:
        fp = self._parsed.get(doc_id)
        if fp is None:
            fp = json.loads(raw)
            self.remember(doc_id, fp)
        return fp

    def remember(self, doc_id: int, fp: dict[str, float]) -> None:
        if len(self._parsed) >= self.size:
            self._parsed.pop(next(iter(self._parsed)))
        self._parsed[doc_id] = fp

    def clear(self) -> None:
        self._parsed.clear()


def fingerprint_for(a: Analysis, stats: TermStats, own: set[str] | None = None) -> dict[str, float]:
    """`own`: the text's distinct index terms, when the caller has them already."""
    if own is None:
        own = set(a.features.terms) | set(a.features.title_terms)
    known = stats.df.get
    # Document frequencies as they will be once this document is in: it counts itself.
    return weigh(
        a.basis,
        lambda t: known(t, 0) + (t in own),
        # In a young corpus every shared word looks common (df 2 of 3 documents) and IDF would punish exactly
        # the words that tie two reports together; pretend to a modest corpus size.
        max(stats.n_docs + 1, MIN_IDF_DOCS),
    )


def story_window(published: date | None) -> tuple[date, date]:
    # Undated reports meet dated ones both ways: an undated text is compared with every date, a dated one
    # with its window and the undated texts.
    window = timedelta(days=STORY_WINDOW_DAYS)
    return (date.min, date.max) if published is None else (published - window, published + window)


@dataclass
class Planned:
    """A text to store: where it is in the batch, what it is, which story it joins."""

    pos: int
    analysis: Analysis
    fingerprint: dict[str, float]
    signature: npt.NDArray[np.uint32]
    near_similarity: float = 0.0
    near_id: int | None = None  # the stored original it republishes
    near_index: int | None = None  # or the original earlier in this plan
    keys: tuple[str, ...] = ()  # its story keys, strongest first: it is found by the first STORED_KEYS
    story: int = 0  # a stored story's id, or PENDING + the index of the planned text that started it


@dataclass
class Repeated:
    """A text stored already, before this batch (`doc`) or earlier in it (`index` in the plan)."""

    pos: int
    analysis: Analysis
    doc: Document | None = None
    index: int | None = None


@dataclass
class BatchPlan:
    planned: list[Planned] = field(default_factory=list)
    repeated: list[Repeated] = field(default_factory=list)

    def documents(self) -> list[NewDocument]:
        return [self._document(i, p) for i, p in enumerate(self.planned)]

    def _document(self, index: int, p: Planned) -> NewDocument:
        a = p.analysis
        own = PENDING + index
        return NewDocument(
            title=a.title,
            text=a.text,
            url=a.url,
            source_name=a.source_name,
            published=a.published,
            lang=a.lang,
            content_hash=a.content_hash,
            title_terms=" ".join(a.features.title_terms),
            body_terms=" ".join(a.features.terms),
            minhash=a.signature,
            bands=a.bands,
            fingerprint=json.dumps(p.fingerprint, ensure_ascii=False, separators=(",", ":")),
            words=a.words,
            story_keys=p.keys[:STORED_KEYS],
            duplicate_of=p.near_id,
            copy_of=p.near_index,
            story_id=p.story if p.story < PENDING else None,
            story_of=p.story - PENDING if PENDING <= p.story != own else None,
        )


async def plan_batch(
    repo: DocumentStore,
    items: Sequence[tuple[int, Analysis]],
    stats: TermStats,
    fingerprints: Fingerprints,
) -> BatchPlan:
    """Decide for each analysed text (with its place in the batch) whether it is stored already, which text
    it republishes, and which story it joins; `stats` move with each text planned, as they would if it had
    been stored. `fingerprints`: those of stored texts that the caller has parsed already."""
    plan = BatchPlan()
    stored = await repo.by_hashes(sorted({a.content_hash for _, a in items}))
    fresh = [a for _, a in items if a.content_hash not in stored]
    near_rows = iter(await repo.near_candidates([a.bands for a in fresh]))
    planned_by_hash: dict[str, int] = {}
    by_band: dict[tuple[int, int], list[int]] = defaultdict(list)
    for pos, a in items:
        if a.content_hash in stored:
            plan.repeated.append(Repeated(pos, a, doc=stored[a.content_hash]))
            continue
        rows = next(near_rows)
        if a.content_hash in planned_by_hash:
            plan.repeated.append(Repeated(pos, a, index=planned_by_hash[a.content_hash]))
            continue
        f = a.features
        own = set(f.terms) | set(f.title_terms)
        # Counted first, the text's own terms need no adding in at each lookup (see `fingerprint_for`).
        stats.add(own)
        fp = weigh(a.basis, stats.df.__getitem__, max(stats.n_docs, MIN_IDF_DOCS))
        p = Planned(pos, a, fp, dedup.from_blob(a.signature), keys=tuple(story_keys(fp, QUERY_KEYS)))
        best = 0.0
        for row in rows:
            sim = dedup.similarity(p.signature, dedup.from_blob(row.minhash))
            if sim > best:
                best, p.near_id, p.story = sim, row.original_id, row.original_story_id or row.original_id
        earlier = sorted({j for band in enumerate(a.bands) for j in by_band.get(band, ())})
        for j in earlier:
            sim = dedup.similarity(p.signature, plan.planned[j].signature)
            if sim > best:
                other = plan.planned[j]
                # Link to the first publication, not to another republication of it.
                best, p.near_id, p.near_index = sim, other.near_id, other.near_index
                if p.near_id is None and p.near_index is None:
                    p.near_index = j
                p.story = other.story
        p.near_similarity = best
        if best < dedup.NEAR_DUPLICATE:
            p.near_id = p.near_index = None
            p.story = 0
        index = len(plan.planned)
        planned_by_hash[a.content_hash] = index
        for band in enumerate(a.bands):
            by_band[band].append(index)
        plan.planned.append(p)
    await _assign_stories(repo, plan.planned, fingerprints)
    return plan


async def _assign_stories(repo: DocumentStore, planned: list[Planned], fingerprints: Fingerprints) -> None:
    earlier = _Earlier()
    lookups: dict[int, tuple[_Lookup, _Lookup]] = {}
    for index, p in enumerate(planned):
        if p.near_id is None and p.near_index is None:
            start, end = story_window(p.analysis.published)
            # Undated texts are looked for among undated ones, and among the dated ones in the window.
            lookups[index] = (
                _Lookup.of(p.keys, None, None, earlier),
                _Lookup.of(p.keys, start, end, earlier),
            )
        earlier.add(index, p)
    fps = await _fetch(repo, [lookup for pair in lookups.values() for lookup in pair], fingerprints)
    for index, p in enumerate(planned):
        if index not in lookups:
            if p.near_index is not None:
                p.story = planned[p.near_index].story
            continue
        candidates = [
            _candidate(planned, lookup, doc_id, fps) for lookup in lookups[index] for doc_id in lookup.best
        ]
        a = p.analysis
        new = StoryCandidate(0, 0, a.published, a.lang, p.fingerprint)
        dates = {}
        for story in stories_to_date(new, candidates):
            # An undated candidate is as old as its story: its dated reports tell how far it is from this one.
            days = [
                q.analysis.published for q in planned[:index] if q.story == story and q.analysis.published
            ]
            if story < PENDING:
                days += [d.published for d in await repo.story_members(story) if d.published]
            dates[story] = days
        p.story = assign(new, candidates, dates) or PENDING + index


class _Earlier:
    """The texts planned so far by their stored keys, as storage would offer them (see `story_candidates`):
    the dated ones kept in (day, id) order, so that a window's most recent are found by bisection."""

    def __init__(self) -> None:
        self.dated: dict[str, list[tuple[date, int]]] = defaultdict(list)
        self.undated: dict[str, list[tuple[date, int]]] = defaultdict(list)

    def add(self, index: int, p: Planned) -> None:
        day = p.analysis.published
        for key in p.keys[:STORED_KEYS]:
            if day is None:
                self.undated[key].append((date.min, PENDING + index))  # ids grow: in order
            else:
                bisect.insort(self.dated[key], (day, PENDING + index))

    def offered(
        self, keys: Sequence[str], start: date | None, end: date | None
    ) -> dict[str, list[tuple[date, int]]]:
        """For each of `keys` that offers any, the most recent texts it offers in the window, at most
        STORY_PER_KEY, most recent first."""
        found: dict[str, list[tuple[date, int]]] = {}
        if start is None or end is None:
            for key in keys:
                if items := self.undated.get(key):
                    found[key] = items[: -STORY_PER_KEY - 1 : -1]
            return found
        for key in keys:
            if items := self.dated.get(key):
                hi = bisect.bisect_right(items, (end, 2 * PENDING))
                lo = max(bisect.bisect_left(items, (start, 0)), hi - STORY_PER_KEY)
                if lo < hi:
                    found[key] = items[lo:hi][::-1]
        return found


def _candidate(
    planned: list[Planned], lookup: _Lookup, doc_id: int, fps: dict[int, dict[str, float]]
) -> StoryCandidate:
    if doc_id >= PENDING:
        q = planned[doc_id - PENDING]
        return StoryCandidate(doc_id, q.story, q.analysis.published, q.analysis.lang, q.fingerprint)
    r = lookup.rows[doc_id]
    return StoryCandidate(r.doc_id, r.story_id or r.doc_id, r.published, r.lang, fps[r.doc_id])


@dataclass
class _Lookup:
    """One story-candidate lookup of a planned text, answered as storage would answer it had the batch's
    earlier texts been stored one by one before it (so that the batch size never changes a story).

    Storage offers for each key its STORY_PER_KEY most recent documents in the window and ranks them by how
    many keys offered them (see `story_candidates`). An earlier text of the batch that a key would offer
    pushes out the stored one it overtakes, which then counts one key less. So storage is asked for its
    ranking with a margin past the limit (only when earlier texts take part) and for what the keys they share
    offer; when the margin proves too short, for its whole ranking."""

    query: StoryQuery
    # per key shared with earlier texts of the batch: those it would offer, as (day, PENDING + index)
    pending: dict[str, list[tuple[date, int]]]
    rows: dict[int, FeatureRow] = field(default_factory=dict)  # storage's candidates, by id
    cut: tuple[int, int] | None = None  # (keys, id) of the last of them, when storage's limit cut the list
    # what each key of `pending` offers of the stored texts, as (day, id), most recent first
    key_docs: list[list[tuple[date, int]]] = field(default_factory=list)
    best: list[int] = field(default_factory=list)  # the candidates' ids: stored, or PENDING + index

    @classmethod
    def of(cls, keys: tuple[str, ...], start: date | None, end: date | None, earlier: _Earlier) -> _Lookup:
        pending = earlier.offered(keys, start, end)
        limit = STORY_CANDIDATES + STORY_MARGIN if pending else STORY_CANDIDATES
        return cls(StoryQuery(keys, start, end, limit=limit), pending)

    def answer(self, rows: list[FeatureRow]) -> None:
        self.rows = {r.doc_id: r for r in rows}
        self.cut = min((r.shared, r.doc_id) for r in rows) if len(rows) == self.query.limit else None

    def rank(self) -> bool:
        """Sets `best`; False when the stored candidates at hand cannot tell (the margin ran out)."""
        if not self.pending:
            self.best = list(self.rows)
            return True
        shared = {doc_id: r.shared for doc_id, r in self.rows.items()}
        for earlier, stored in zip(self.pending.values(), self.key_docs, strict=True):
            if not stored or earlier[-1] > stored[0]:
                # The usual case (texts come in date order): the earlier texts are the most recent, all offered
                # (there are at most STORY_PER_KEY), and push out the oldest stored ones.
                pushed = stored[STORY_PER_KEY - len(earlier) :]
                taken = earlier
            else:
                offered = {doc_id for _, doc_id in heapq.nlargest(STORY_PER_KEY, stored + earlier)}
                pushed = [x for x in stored if x[1] not in offered]
                taken = [x for x in earlier if x[1] in offered]
            for _, doc_id in pushed:
                if doc_id in shared:
                    shared[doc_id] -= 1
            for _, doc_id in taken:
                shared[doc_id] = shared.get(doc_id, 0) + 1
        ranked = heapq.nlargest(
            STORY_CANDIDATES, ((n, doc_id) for doc_id, n in shared.items() if n >= MIN_SHARED_KEYS)
        )
        # A stored text storage left out ranks below the last it gave, and only loses keys here.
        if self.cut is not None and (len(ranked) < STORY_CANDIDATES or ranked[-1] < self.cut):
            return False
        self.best = [doc_id for _, doc_id in ranked]
        return True


async def _fetch(
    repo: DocumentStore, lookups: list[_Lookup], fingerprints: Fingerprints
) -> dict[int, dict[str, float]]:
    """Storage's answers to the lookups, and the fingerprints of the stored candidates: a hop for the
    candidates, one for what the keys shared with earlier texts offer, one for the fingerprints not parsed
    yet (usually none: candidates are recent), and one for the lookups whose margin ran out, if any."""
    await _answer(repo, lookups)
    # What each key shared with earlier texts offers: asked once per window (the texts of one day share it).
    windows: dict[tuple[date | None, date | None], dict[str, list[tuple[date, int]]]] = defaultdict(dict)
    for lookup in lookups:
        for key in lookup.pending:
            windows[lookup.query.start, lookup.query.end][key] = []
    queries = [StoryQuery(tuple(keys), start, end) for (start, end), keys in windows.items()]
    for query, offered in zip(queries, await repo.story_key_docs(queries, STORY_PER_KEY), strict=True):
        windows[query.start, query.end] = {
            key: [(d.published or date.min, d.doc_id) for d in docs]
            for key, docs in zip(query.keys, offered, strict=True)
        }
    for lookup in lookups:
        if lookup.pending:
            window = windows[lookup.query.start, lookup.query.end]
            lookup.key_docs = [window[key] for key in lookup.pending]
    short = [lookup for lookup in lookups if not lookup.rank()]
    for lookup in short:
        # Every document the keys offer: each counts at least once, so the list is never cut.
        lookup.query = replace(lookup.query, limit=len(lookup.query.keys) * STORY_PER_KEY)
    if short:
        await _answer(repo, short)
        for lookup in short:
            lookup.rank()
    fps: dict[int, dict[str, float]] = {}
    missing = []
    for lookup in lookups:
        for doc_id in lookup.best:
            if doc_id < PENDING and doc_id not in fps:
                fp = fingerprints.get(doc_id)
                raw = lookup.rows[doc_id].fingerprint  # a store may send them anyway
                if fp is not None:
                    fps[doc_id] = fp
                elif raw:
                    fps[doc_id] = fingerprints.parse(doc_id, raw)
                else:
                    missing.append(doc_id)
    for doc_id, raw in (await repo.fingerprints(sorted(set(missing)))).items():
        fps[doc_id] = fingerprints.parse(doc_id, raw)
    return fps


async def _answer(repo: DocumentStore, lookups: list[_Lookup]) -> None:
    found = await repo.story_candidates_many(
        [lookup.query for lookup in lookups],
        STORY_CANDIDATES,
        per_key=STORY_PER_KEY,
        min_shared=MIN_SHARED_KEYS,
        fingerprints=False,
    )
    for lookup, rows in zip(lookups, found, strict=True):
        lookup.answer(rows)
