"""Planning a batch of analysed texts for storage in a few round trips instead of several per text.

The database is asked three things for the whole batch at once (which texts are stored already, which stored
texts share MinHash bands with them, which stored texts share story keys with them); everything else is
decided here, in order, text by text, with the batch's earlier texts known in memory — exactly as if each
had been stored before the next was looked at: a text can repeat, republish or join the story of one that
came earlier in the same batch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.corpus import dedup
from bot.text.stories import StoryCandidate, assign, stories_to_date, story_keys, weigh
from storage.interfaces import DocumentStore
from storage.models import Document, NewDocument, StoryQuery

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bot.corpus.ingest import Analysis, TermStats

# Stories are looked for among documents published this many days around the new one.
STORY_WINDOW_DAYS = 7
STORY_CANDIDATES = 60
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
    parsed: Callable[[int, str], dict[str, float]],
) -> BatchPlan:
    """Decide for each analysed text (with its place in the batch) whether it is stored already, which text
    it republishes, and which story it joins; `stats` move with each text planned, as they would if it had
    been stored. `parsed(doc_id, raw)` reads a stored fingerprint (the caller caches them)."""
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
        fp = fingerprint_for(a, stats, own)
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
        stats.add(own)
        index = len(plan.planned)
        planned_by_hash[a.content_hash] = index
        for band in enumerate(a.bands):
            by_band[band].append(index)
        plan.planned.append(p)
    await _assign_stories(repo, plan.planned, parsed)
    return plan


async def _assign_stories(
    repo: DocumentStore, planned: list[Planned], parsed: Callable[[int, str], dict[str, float]]
) -> None:
    lookups = [p for p in planned if p.near_id is None and p.near_index is None]
    queries: list[StoryQuery] = []
    for p in lookups:
        start, end = story_window(p.analysis.published)
        queries += [StoryQuery(p.keys, None, None), StoryQuery(p.keys, start, end)]
    found = iter(await repo.story_candidates_many(queries, STORY_CANDIDATES, min_shared=MIN_SHARED_KEYS))
    by_key: dict[str, list[int]] = defaultdict(list)  # stored keys of the planned texts
    for index, p in enumerate(planned):
        a = p.analysis
        if p.near_id is not None or p.near_index is not None:
            if p.near_index is not None:
                p.story = planned[p.near_index].story
        else:
            rows = next(found) + next(found)
            candidates = [
                StoryCandidate(
                    r.doc_id, r.story_id or r.doc_id, r.published, r.lang, parsed(r.doc_id, r.fingerprint)
                )
                for r in rows
            ]
            candidates += _earlier(planned, index, by_key)
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
        for key in p.keys[:STORED_KEYS]:
            by_key[key].append(index)


def _earlier(planned: list[Planned], index: int, by_key: dict[str, list[int]]) -> list[StoryCandidate]:
    """The texts planned before `index` that storage would offer it as story candidates (see
    `story_candidates`): sharing enough keys, and undated or within its window."""
    p = planned[index]
    shared: dict[int, int] = defaultdict(int)
    for key in p.keys:
        for j in by_key.get(key, ()):
            shared[j] += 1
    start, end = story_window(p.analysis.published)
    out = []
    for j, n in sorted(shared.items()):
        q = planned[j]
        day = q.analysis.published
        if n >= MIN_SHARED_KEYS and (day is None or p.analysis.published is None or start <= day <= end):
            out.append(StoryCandidate(PENDING + j, q.story, day, q.analysis.lang, q.fingerprint))
    return out
