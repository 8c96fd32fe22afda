"""Extractive summaries of one text, and a one-line-per-story overview of many.

A summary is made of whole sentences of the text, in their original order. Sentences are ranked by
* centrality: cosine between the sentence and the rest of the document over index terms weighted by inverse
  sentence frequency, so that a sentence saying what the whole text is about ranks high even in long texts;
* position: news put the event in the lead, so early sentences get a prior that decays with position;
* overlap with the title, when there is one: the headline is the author's own summary;
and lose part of their score when they are unlikely to stand alone on a card: very short or very long,
direct speech without its speaker, background formulas («Напомним, …») and sentences opening with a
reference to the previous one («Он», «При этом») unless that previous sentence is chosen too.

Everything here is pure computation over strings; the caller passes the one `Morphology` of the process.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

from bot.text.morph import Morphology, fold, iter_tokens
from bot.text.normalize import detect_language
from bot.text.normalize import sentences as split_sentences

# Function words and reporting verbs in the forms the index gives them (Russian lemmas, English stems) and as
# folded tokens (Kazakh, whose stemmer leaves particles alone). They say nothing about what a text is about.
_STOP_TEXT = """
    и в во на с со что чтобы по о об обо к ко из от до за для при у же а но или либо не ни как так также тоже
    это этот тот такой он она оно они я мы вы ты его ее их свой себя быть который весь все уже еще лишь только
    бы ли если где когда там здесь тут сам самый через после между под над перед около более менее очень
    другой каждый ранее кроме однако поэтому именно данный тем чем год слово сообщить сообщать отметить
    отмечать сказать заявить подчеркнуть пояснить рассказать добавить напомнить являться стать мочь один
    какой никакой свой наш ваш
    the a an of to in on for and or by with at from as is be has have had will would that this these those it
    its no said say says which who was were are been he she they their them also than then there not but into
    және мен бен пен бұл осы ол оның олар үшін туралы деп да де та те бойынша жылы жыл қарай еді болды болып
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())

_DANGLING_RE = re.compile(
    r"^(?:он|она|оно|они|его|ее|её|их|ему|ей|им|это|этот|эта|эти|этого|этой|этим|такой|такая|такое|такие|"
    r"тогда|там|однако|напротив|поэтому|именно|также|кроме того|при этом|вместе с тем|в то же время|"
    r"тем не менее|в свою очередь|помимо этого|в связи с этим|по его словам|по ее словам|по её словам|"
    r"по их словам|he|she|it|they|this|these|however|also|ол|олар|бұл|осы)\b",
    re.IGNORECASE,
)
# Background formulas: true but old news, and what a reader of the card has most likely seen already.
_BACKGROUND_RE = re.compile(
    r"^(?:напомним|ранее сообщалось|как сообщалось|ранее мы писали|ранее\b|recall|earlier\b|бұған дейін)",
    re.IGNORECASE,
)
_BOILERPLATE_RE = re.compile(
    r"^(?:читайте также|подписывайтесь|фото|видео|источник|read also|photo|subscribe)\b", re.IGNORECASE
)
_DASHES = ("—", "–", "-")
# «…, — сказал он.» / "…," said he: a quotation that names its speaker.
_ATTRIBUTION_RE = re.compile(r"[,!?…]\s*[»\"]?\s*[—–-]\s*\w|[,!?]\s*[\"»”]\s+\w+")
_TERMINAL = (".", "!", "?", "…", "»", '"', ")")

_POSITION_DECAY = 0.7
_DANGLING_FACTOR = 0.7
_DUPLICATE_JACCARD = 0.6
_DUPLICATE_RATIO = 90.0


@dataclass(frozen=True)
class _Sentence:
    index: int
    text: str
    terms: tuple[str, ...]  # content terms only
    words: int
    quality: float  # multiplier in (0, 1] from the length and form of the sentence alone
    dangling: bool


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
    sents = _analyse(text, title, morph)
    if not sents:
        return []
    if len(sents) <= sentences and _fits([s.text for s in sents], max_chars):
        return [s.text for s in sents]
    picked = _select(sents, _scores(sents, title, morph), sentences, max_chars)
    return [sents[i].text for i in sorted(picked)]


def _fits(parts: Sequence[str], max_chars: int | None) -> bool:
    return max_chars is None or sum(map(len, parts)) + max(len(parts) - 1, 0) <= max_chars


def _analyse(text: str, title: str | None, morph: Morphology) -> list[_Sentence]:
    raw = [s for _, _, s in split_sentences(text) if any(ch.isalnum() for ch in s)]
    # Some feeds repeat the headline as the first line of the body; on a card it would be said twice.
    if title and raw and fuzz.ratio(fold(raw[0]).rstrip("."), fold(title).rstrip(".")) >= _DUPLICATE_RATIO:
        raw = raw[1:]
    quote_paragraph = _quote_flags(text, raw)
    out: list[_Sentence] = []
    for i, s in enumerate(raw):
        words = 0
        terms: list[str] = []
        for _, _, tok, cap in iter_tokens(s):
            words += 1
            if tok in STOP_WORDS or (len(tok) == 1 and not tok.isdigit()):
                continue
            term = morph.token_term(tok, cap)
            if term not in STOP_WORDS:
                terms.append(term)
        out.append(
            _Sentence(
                index=i,
                text=s,
                terms=tuple(terms),
                words=words,
                quality=_quality(s, words, quote_paragraph[i]),
                dangling=bool(_DANGLING_RE.match(s.lstrip("—–-«\"' "))),
            )
        )
    return out


def _quote_flags(text: str, raw: Sequence[str]) -> list[tuple[bool, bool]]:
    """For each sentence: is it direct speech (its paragraph opens with a dash or a quote mark), and does it
    open its paragraph."""
    flags: list[tuple[bool, bool]] = []
    pos = 0
    in_quote = False
    for s in raw:
        start = text.find(s, pos)
        if start < 0:  # cannot happen for razdel's substrings; stay safe rather than wrong
            flags.append((False, False))
            continue
        line_start = text.rfind("\n", 0, start) + 1
        first = not text[line_start:start].strip()
        if first:  # the first sentence of a paragraph decides for the whole paragraph
            in_quote = s.startswith(_DASHES) or s.startswith(("«", '"', "“"))
        flags.append((in_quote, first))
        pos = start + len(s)
    return flags


def _quality(s: str, words: int, quote: tuple[bool, bool]) -> float:
    q = 1.0
    if words < 5:
        q *= 0.3
    elif words < 8:
        q *= 0.7
    elif words > 70:
        q *= 0.5
    elif words > 45:
        q *= 0.8
    in_quote, opens_paragraph = quote
    if in_quote:
        # Direct speech is colour, not news. Only a one-sentence quotation with its speaker stands alone: the
        # speaker of a longer one is named in its last sentence, which alone is a fragment («…, — сказала она»).
        q *= 0.85 if opens_paragraph and _ATTRIBUTION_RE.search(s) else 0.55
    bare = s.lstrip("—–-«\"' ")
    if _BOILERPLATE_RE.match(bare):
        q *= 0.1
    elif _BACKGROUND_RE.match(bare):
        q *= 0.6
    if not s.rstrip().endswith(_TERMINAL):  # a heading or a caption, not a sentence of the story
        q *= 0.6
    return q


def _scores(sents: Sequence[_Sentence], title: str | None, morph: Morphology) -> list[float]:
    n = len(sents)
    sf: Counter[str] = Counter()
    for s in sents:
        sf.update(set(s.terms))
    # Inverse sentence frequency: a word in every sentence does not tell sentences apart.
    isf = {t: math.log(1.0 + n / c) for t, c in sf.items()}
    doc: Counter[str] = Counter()
    for s in sents:
        doc.update(s.terms)

    centrality: list[float] = []
    for s in sents:
        own = Counter(s.terms)
        dot = norm_s = norm_r = 0.0
        for t, c in own.items():
            w = isf[t] ** 2
            dot += c * (doc[t] - c) * w
            norm_s += c * c * w
        for t, c in doc.items():
            r = c - own.get(t, 0)
            norm_r += r * r * isf[t] ** 2
        # Against the rest of the document: otherwise a long sentence is "central" because it is long.
        centrality.append(dot / math.sqrt(norm_s * norm_r) if norm_s and norm_r else 0.0)
    top = max(centrality) or 1.0

    title_terms: set[str] = set()
    if title:
        title_terms = {
            morph.token_term(tok, cap)
            for _, _, tok, cap in iter_tokens(title)
            if tok not in STOP_WORDS and (len(tok) > 1 or tok.isdigit())
        } - STOP_WORDS
    scores: list[float] = []
    for s, cent in zip(sents, centrality, strict=True):
        position = 1.0 / (1.0 + s.index) ** _POSITION_DECAY
        if title_terms:
            overlap = len(title_terms.intersection(s.terms)) / len(title_terms)
            score = 0.45 * cent / top + 0.30 * position + 0.25 * overlap
        else:
            score = 0.6 * cent / top + 0.4 * position
        scores.append(score * s.quality)
    return scores


def _near_duplicate(a: _Sentence, b: _Sentence) -> bool:
    ta, tb = set(a.terms), set(b.terms)
    if ta and tb and len(ta & tb) / len(ta | tb) >= _DUPLICATE_JACCARD:
        return True
    return fuzz.ratio(fold(a.text), fold(b.text)) >= _DUPLICATE_RATIO


def _select(
    sents: Sequence[_Sentence], scores: Sequence[float], count: int, max_chars: int | None
) -> list[int]:
    """Greedy choice, best first; returns sentence indices in the order they were chosen."""
    chosen: list[int] = []
    used = -1  # joined length so far; -1 so that the first sentence needs no separator
    excluded: set[int] = set()
    while len(chosen) < count:
        best, best_score = -1, -1.0
        for i, s in enumerate(sents):
            if i in excluded or i in chosen:
                continue
            if max_chars is not None and used + 1 + len(s.text) > max_chars:
                continue
            score = scores[i]
            # A reference to the previous sentence is clear only when that sentence is on the card too.
            if s.dangling and (i - 1) not in chosen:
                score *= _DANGLING_FACTOR
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        chosen.append(best)
        used += 1 + len(sents[best].text)
        excluded.update(i for i, s in enumerate(sents) if i not in chosen and _near_duplicate(s, sents[best]))
    return chosen


def ranked_sentences(
    text: str, title: str | None = None, count: int = 3, *, morph: Morphology, max_chars: int | None = None
) -> list[str]:
    """Like `summarize`, but best first: the order a caller wants when it needs just one line."""
    if count < 1 or not text.strip():
        return []
    sents = _analyse(text, title, morph)
    if not sents:
        return []
    picked = _select(sents, _scores(sents, title, morph), count, max_chars)
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
            if leads[a.id] and leads[b.id] and fuzz.ratio(leads[a.id], leads[b.id]) >= _DUPLICATE_RATIO:
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
                    and fuzz.ratio(_key(top[0]), b.line_key) >= _DUPLICATE_RATIO
                ),
                None,
            )
            if home is not None:
                home.docs.extend(g.docs)
                continue
        best = _best_line(g, ranked, [b.line_key for b in built], preferred)
        if best is None:
            title = g.docs[0].title
            if not title or any(fuzz.ratio(_key(title), b.line_key) >= _DUPLICATE_RATIO for b in built):
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
    """The first sentence of the text, as the overview compares leads."""
    for _, _, s in split_sentences(text):
        if any(ch.isalnum() for ch in s):
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
            if any(fuzz.ratio(k, u) >= _DUPLICATE_RATIO for u in used):
                continue
            w = _RANK_WEIGHTS[min(rank, len(_RANK_WEIGHTS) - 1)]
            for idx, (ck, ctext, ctitle, cdocs, support) in enumerate(clusters):
                if fuzz.ratio(k, ck) >= _DUPLICATE_RATIO:
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
