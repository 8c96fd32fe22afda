"""Extractive summaries of one text, and a one-line-per-story overview of many.

Which sentences make a summary is decided in `ranking`: the lead that stands alone, then the most informative
of the few sentences after it. Everything here is pure computation over strings; the caller passes the one
`Morphology` of the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

from bot.text import cues
from bot.text.morph import Morphology, iter_tokens
from bot.text.normalize import detect_language
from bot.text.normalize import sentences as split_sentences
from bot.text.ranking import DUPLICATE_RATIO, analyse, scores, select
from bot.text.ranking import STOP_WORDS as STOP_WORDS  # the stories module reads them from here


def summarize(
    text: str,
    title: str | None = None,
    sentences: int = 3,
    *,
    morph: Morphology,
    max_chars: int | None = 600,
) -> list[str]:
    """The `sentences` best sentences of `text`, in their original order, each one whole.

    `max_chars` bounds the summary joined with single spaces: sentences that do not fit are skipped in
    favour of lower-ranked ones that do, so the result may be shorter than asked, and [] when not even one
    sentence fits. Texts that have no more sentences than asked for come back whole (within `max_chars`).
    """
    if sentences < 1 or not text.strip():
        return []
    sents = analyse(text, title, morph)
    if not sents:
        return []
    if len(sents) <= sentences and _fits([s.text for s in sents], max_chars):
        return [s.text for s in sents]
    picked = select(sents, scores(sents, title, morph), sentences, max_chars)
    return [sents[i].text for i in sorted(picked)]


def _fits(parts: Sequence[str], max_chars: int | None) -> bool:
    return max_chars is None or sum(map(len, parts)) + max(len(parts) - 1, 0) <= max_chars


def ranked_sentences(
    text: str, title: str | None = None, count: int = 3, *, morph: Morphology, max_chars: int | None = None
) -> list[str]:
    """Like `summarize`, but best first: the order a caller wants when it needs just one line."""
    if count < 1 or not text.strip():
        return []
    sents = analyse(text, title, morph)
    if not sents:
        return []
    picked = select(sents, scores(sents, title, morph), count, max_chars)
    return [sents[i].text for i in picked]


# --- overview -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewDoc:
    id: int
    title: str
    text: str
    source: str
    published: date | None
    story_id: int | None = None


@dataclass(frozen=True)
class OverviewItem:
    line: str  # one sentence of one of the documents, whole
    title: str  # headline of the document the line comes from
    doc_ids: tuple[int, ...]  # newest first
    sources: tuple[str, ...]  # distinct, in the order of doc_ids
    published: date | None  # of the newest document
    story_id: int | None


_RANK_WEIGHTS = (1.0, 0.5, 0.33)


@dataclass
class _Group:
    docs: list[OverviewDoc]
    line: str = ""
    line_key: str = ""
    title: str = ""

    @property
    def story_ids(self) -> set[int]:
        return {d.story_id for d in self.docs if d.story_id is not None}

    def order(self) -> tuple[int, int, int, int]:
        """Most widely reported first, then newest."""
        self.docs.sort(key=_doc_order)
        newest = self.docs[0]
        return (
            -len({d.source for d in self.docs}),
            -(newest.published or date.min).toordinal(),
            -len(self.docs),
            newest.id,
        )


def _compatible(a: set[int], b: set[int]) -> bool:
    """Whether two sets of documents may be one story: the story module did not put them apart."""
    return len(a | b) <= 1


def overview(
    docs: Sequence[OverviewDoc],
    max_items: int,
    *,
    morph: Morphology,
    line_chars: int = 300,
    lang: str | None = None,
) -> list[OverviewItem]:
    """One line per story, most widely reported first, then newest.

    Documents are one story when they share a `story_id`, or, unless their story ids differ, when their lead
    sentences or their best lines are near-identical (one outlet republishing another). A line is never
    repeated: when stories the story module kept apart would say the same sentence, the second says its next
    best one. With `lang`, a story reported in that language says its line in it.
    """
    if max_items < 1 or not docs:
        return []
    ranked = {d.id: ranked_sentences(d.text, d.title, 3, morph=morph, max_chars=line_chars) for d in docs}
    if lang is not None:
        # Sentences of reports in other languages stay as a fallback for stories nobody told in `lang`.
        langs = {d.id: detect_language(f"{d.title}\n{d.text}") for d in docs}
        preferred = {d.id for d in docs if langs[d.id] == lang}
    else:
        preferred = {d.id for d in docs}
    leads = {d.id: _key(lead_sentence(d.text)) for d in docs}

    parent = {d.id: d.id for d in docs}
    stories = {d.id: {d.story_id} if d.story_id is not None else set() for d in docs}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = sorted((find(a), find(b)))
        if ra != rb and _compatible(stories[ra], stories[rb]):
            parent[rb] = ra
            stories[ra] |= stories[rb]

    by_story: dict[int, int] = {}
    for d in docs:
        if d.story_id is not None:
            union(d.id, by_story.setdefault(d.story_id, d.id))
    for i, a in enumerate(docs):
        for b in docs[i + 1 :]:
            if leads[a.id] and leads[b.id] and fuzz.ratio(leads[a.id], leads[b.id]) >= DUPLICATE_RATIO:
                union(a.id, b.id)

    by_root: dict[int, list[OverviewDoc]] = {}
    for d in docs:
        by_root.setdefault(find(d.id), []).append(d)
    groups = sorted((_Group(members) for members in by_root.values()), key=_Group.order)

    built: list[_Group] = []
    for g in groups:
        top = _best_line(g, ranked, (), preferred)
        if top:
            # The same best sentence as a story already listed: a republication that did not keep the lead.
            home = next(
                (
                    b
                    for b in built
                    if _compatible(b.story_ids, g.story_ids)
                    and fuzz.ratio(_key(top[0]), b.line_key) >= DUPLICATE_RATIO
                ),
                None,
            )
            if home is not None:
                home.docs.extend(g.docs)
                continue
        best = _best_line(g, ranked, [b.line_key for b in built], preferred)
        if best is None:
            title = g.docs[0].title
            if not title or any(fuzz.ratio(_key(title), b.line_key) >= DUPLICATE_RATIO for b in built):
                continue
            best = (title, title)
        g.line, g.title = best
        g.line_key = _key(g.line)
        built.append(g)

    built.sort(key=_Group.order)
    items: list[OverviewItem] = []
    for g in built[:max_items]:
        story_ids = sorted(g.story_ids)
        items.append(
            OverviewItem(
                line=g.line,
                title=g.title,
                doc_ids=tuple(d.id for d in g.docs),
                sources=tuple(dict.fromkeys(d.source for d in g.docs)),
                published=g.docs[0].published,
                story_id=story_ids[0] if story_ids else None,
            )
        )
    return items


def lead_sentence(text: str) -> str:
    """The first sentence of the report, as the overview compares leads (a dateline or a byline shared by
    two texts says nothing about whether they are one story)."""
    for _, _, s in split_sentences(text):
        if any(ch.isalnum() for ch in s) and not cues.is_metadata(s):
            return s
    return ""


def _key(sentence: str) -> str:
    return " ".join(tok for _, _, tok, _ in iter_tokens(sentence))


def _doc_order(d: OverviewDoc) -> tuple[int, int]:
    return (-(d.published or date.min).toordinal(), d.id)


def _best_line(
    g: _Group, ranked: dict[int, list[str]], used: Sequence[str], preferred: set[int]
) -> tuple[str, str] | None:
    """The sentence the group's documents agree on most: rank-weighted, counted once per document."""
    g.docs.sort(key=_doc_order)
    clusters: list[tuple[str, str, str, set[int], float]] = []  # key, text, title, docs, support
    speakers = [d for d in g.docs if d.id in preferred] or g.docs
    for d in speakers:
        for rank, s in enumerate(ranked[d.id]):
            k = _key(s)
            if any(fuzz.ratio(k, u) >= DUPLICATE_RATIO for u in used):
                continue
            w = _RANK_WEIGHTS[min(rank, len(_RANK_WEIGHTS) - 1)]
            for idx, (ck, ctext, ctitle, cdocs, support) in enumerate(clusters):
                if fuzz.ratio(k, ck) >= DUPLICATE_RATIO:
                    if d.id not in cdocs:
                        cdocs.add(d.id)
                        clusters[idx] = (ck, ctext, ctitle, cdocs, support + w)
                    break
            else:
                clusters.append((k, s, d.title, {d.id}, w))
    if not clusters:
        return None
    # max() keeps the first of equals: ties go to the newest document's sentence.
    best = max(clusters, key=lambda c: c[4])
    return best[1], best[2]
