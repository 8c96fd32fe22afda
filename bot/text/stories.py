"""Stories: the documents of several outlets (and languages) that report one event.

A document is reduced to a *fingerprint*: the top-k keys of a sparse TF-IDF vector, L2-normalised, as a plain
`dict[str, float]` that storage keeps as JSON. Its keys are
* index terms (lemmas/stems) weighted by corpus IDF, so that what every Alatau text says (Алатау, город,
  Казахстан) weighs little and what this event says (a decree number, a sum, a person) weighs much;
* language-independent keys that let a Russian, a Kazakh and an English report of one event meet:
  concepts of the domain lexicon as `=` + concept (указ / Жарлық / decree → `=decree`, Касым-Жомарт Токаев /
  Қасым-Жомарт Тоқаев / Kassym-Jomart Tokayev → `=tokayev`; see `bot.text.lexicon`), numbers (already the
  same term in every language), other names as `~` + a rough Latin spelling (Сарсембаева / Sarsembayev →
  `~sarse`) and dates as `@month-day` (5 сентября / 5 қыркүйекте / September 5).
Words weigh by their rarity among the texts of their own language; what a text only recalls («Напомним, …»)
counts half, so a follow-up is not pulled into the story it recalls.

Two documents are one story when their fingerprints are similar enough for their distance in time: reports
of one event come out within days, while a similar text months later is usually a new event on the same
topic (the next council meeting), so far-apart dates need a much higher similarity. Documents in different
languages are compared on the language-independent keys only.

An undated document is as old as its story: compared with an undated candidate, a new report measures its
distance in time to the dated reports of that candidate's story.

Assignment is incremental (`assign`: join the story of the most similar earlier document, or start a new
one) and `group` re-clusters a whole corpus by running exactly that rule over the documents in date order.
Storage finds the candidates by `story_keys`, which favour the language-independent keys.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from itertools import repeat

from bot.text import lexicon
from bot.text.morph import Morphology

# Re-exported: ingest and the admin preview read a text's features from here.
from bot.text.story_features import CONCEPT_PREFIX as CONCEPT_PREFIX
from bot.text.story_features import DATE_PREFIX as DATE_PREFIX
from bot.text.story_features import DocFeatures as DocFeatures
from bot.text.story_features import features as features
from bot.text.summarize import STOP_WORDS
from bot.text.translit import is_latin, to_cyrillic, to_latin

NAME_PREFIX = "~"

# Weights of the kinds of evidence, relative to an ordinary word of the same IDF.
_TITLE_COUNT = 2  # a title word counts as this many extra occurrences
_TITLE_BOOST = 1.3
_LEAD_BOOST = 1.3
_NAME_BOOST = 1.3
_NUMBER_BOOST = 1.5  # 1047, 3,2 млрд, 87 депутатов: the most event-specific facts in a news text
_SMALL_NUMBER_BOOST = 0.5  # 1, 2, 5: too common to tell events apart
_HAPAX_FACTOR = 0.3
_IDF_FLOOR = 0.1  # keeps a vector non-empty when every term is common (and in an empty corpus)
_DATE_IDF_SHARE = 0.7  # date keys are not in the corpus statistics: treat them as fairly rare
_NAME_KEY_LEN = 5  # Latin prefix that survives case endings and spelling variants: Сарсембаева ~ Sarsembayev

# The similarity two documents need to be one story, by their distance in days: linear between the points,
# flat after the last. Same language: cosine of the whole fingerprints; different languages: `shared_similarity`.
# The same-language points were measured on tests/fixtures/stories: a report's best match in its own event
# within a day scores 0.31-0.88, other events of the same days stay at or below 0.20, a follow-up 3-4 days later
# reaches 0.30, the next meeting of the same council two months later 0.62. Across languages the shared keys
# (concepts, names, numbers) are the whole comparison, so reports of one topic score high whatever the event:
# on bench/quality's tune split two sessions of one council ten weeks apart reach 0.88, the Address and the
# decree it announced (18 days apart) 0.76, while reports of one event within a week score 0.3-0.9. Hence the
# steeper cross-language curve.
SAME_LANG_THRESHOLDS: tuple[tuple[int, float], ...] = ((1, 0.26), (3, 0.36), (7, 0.45), (30, 0.75))
CROSS_LANG_THRESHOLDS: tuple[tuple[int, float], ...] = (
    (1, 0.35),
    (3, 0.45),
    (7, 0.60),
    (14, 0.85),
    (30, 0.95),
)
# Index terms nearly every text of a language has: their document frequency is that language's text count.
_LANGUAGE_PROBES = {"ru": ("в", "и", "на"), "kk": ("және", "бұл", "үшін"), "en": ("the", "and", "of")}
_MIN_LANGUAGE_DOCS = 10
_KAZAKH_RE = re.compile("[әғқңөұүһі]")
_CYRILLIC_RE = re.compile("[а-яё]")
_LATIN_RE = re.compile("[a-z]")
_BACKGROUND_WEIGHT = 0.5  # an occurrence in a recalled passage counts this much
# How a news text says that it reports, refers or recalls — in every story, of no event — as index terms
# (Kazakh words go through the suffix stripper, so the stems are listed: туралы → турал, бойынша → бойынш).
_REPORTING_TERMS = frozenset(
    {
        "турал", "деп", "айтуынш", "хабарлайд", "хабарлад", "мәлім", "сонда", "ақ", "еск", "салайық",
        "салсақ", "болатын", "бастап", "сәйкес", "сілтеме", "жасап", "қатыс", "тиіс", "бойынш", "арқыл",
        "болып", "болда", "кей", "дей", "іші", "өз", "мена", "бен", "пен",
        "сообщать", "сообщить", "отметить", "заявить", "подчеркнуть", "рассказать", "напомнить", "также",
        "said", "say", "accord", "told", "note", "also",
    }
)  # fmt: skip
_SHARED_LOOKUP_BOOST = 2.0  # see `story_keys`
# A document without a date counts as published some days away (an undated candidate: as its story's
# nearest dated report, when its story has one; see `assign`). On bench/quality's tune split, ingested in file
# order, in date order and in random orders, 4-5 days kept precision ≥ 0.95 with the best recall; a week cost
# 0.03 of recall, three days 0.04 of precision.
UNKNOWN_GAP_DAYS = 5
_MIN_SHARED_KEYS = 3
_SHARED_NORM_FLOOR = 0.2
# In `group`, keys carried by more documents than this are not walked document by document: their share of
# any dot product is bounded instead (they are common words, so their weights and that bound are small).
_FREQUENT_POSTINGS = 200
_ROUNDING_MARGIN = 0.01  # a document without a date is treated as published about a week away

_YEAR_RE = re.compile(r"^(?:19|20)\d\d$")
# Spellings that differ between transliteration schemes but not in sound; longest first.
_SPELLING = (
    ("shch", "sh"), ("dzh", "j"), ("zh", "j"), ("kh", "h"), ("ts", "c"), ("yu", "u"), ("ya", "a"),
    ("ye", "e"), ("yo", "o"), ("iy", "i"), ("y", "i"), ("w", "v"), ("q", "k"), ("x", "ks"),
)  # fmt: skip


@dataclass(frozen=True)
class StoryCandidate:
    doc_id: int
    story_id: int | None
    published: date | None
    lang: str
    fingerprint: Mapping[str, float]


@lru_cache(maxsize=65536)
def name_key(word: str) -> str:
    """A rough Latin spelling of a name, the same for its Russian, Kazakh and English spellings."""
    w = word.lower() if is_latin(word) else to_latin(word)
    w = re.sub(r"[^a-z]", "", w)
    for a, b in _SPELLING:
        w = w.replace(a, b)
    w = re.sub(r"(.)\1+", r"\1", w)
    return NAME_PREFIX + w[:_NAME_KEY_LEN] if len(w) >= 3 else ""


# One weighed key of a document (see `Basis`): (key, base weight, multipliers applied after the IDF in this
# order, and where its IDF comes from, as places in `Basis.terms`: the least IDF of single terms and of
# phrases, a phrase counting its largest; None for a date key).
Entry = tuple[str, float, tuple[float, ...], tuple[int, ...] | None, tuple[tuple[int, ...], ...]]


@dataclass(frozen=True)
class Basis:
    """Everything of a document's fingerprint that needs no corpus statistics (`basis`): computed where the
    text is analysed (in a worker process for bulk ingests), so that weighing it by IDF (`weigh`), which must
    see the texts before it, is all that is left to do in order."""

    terms: tuple[str, ...]  # each term whose document frequency weighs a key, once
    scripts: tuple[str, ...]  # the language of each by its letters (see `_script`)
    entries: tuple[Entry, ...]


def fingerprint(
    terms: Sequence[str],
    title_terms: Sequence[str],
    df: Callable[[str], int],
    n_docs: int,
    k: int = 40,
    *,
    names: Sequence[tuple[str, str]] = (),
    dates: Sequence[str] = (),
    lead_terms: Sequence[str] = (),
    concept_terms: Sequence[tuple[str, str]] = (),
    background: Sequence[str] = (),
) -> dict[str, float]:
    """Top-k keys of the document's TF-IDF vector, L2-normalised, rounded for compact stable JSON.

    `df(term)` is the number of documents of the corpus containing the index term, this document included
    (so 1 means no other document has it), `n_docs` the number of documents. `names` are the document's
    proper names as (index term, word as written) (see `features`), `dates` its date keys, `lead_terms`
    the terms of its first sentences, `concept_terms` the words behind the concept keys among `terms`,
    `background` the terms and date keys said where the text recalls earlier events, one per occurrence.
    """
    b = basis(
        terms,
        title_terms,
        names=names,
        dates=dates,
        lead_terms=lead_terms,
        concept_terms=concept_terms,
        background=background,
    )
    return weigh(b, df, n_docs, k)


def basis(
    terms: Sequence[str],
    title_terms: Sequence[str],
    *,
    names: Sequence[tuple[str, str]] = (),
    dates: Sequence[str] = (),
    lead_terms: Sequence[str] = (),
    concept_terms: Sequence[tuple[str, str]] = (),
    background: Sequence[str] = (),
) -> Basis:
    """The statistics-free part of `fingerprint` (same arguments): each key's weight but for its IDF."""
    # The corpus counts words, not concepts: a concept is at least as common as the most common of its
    # phrases here and of its one-word forms (the Russian lemma, in a mostly Russian corpus); a phrase is at
    # most as common as its rarest word.
    concept_phrases: dict[str, set[str]] = defaultdict(set)
    for key, phrase in concept_terms:
        concept_phrases[key].add(phrase)

    places: dict[str, int] = {}
    place = places.setdefault  # place(term, len(places)): where its IDF is, the first time it is met

    def concept_groups(key: str) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
        singles, multis = _concept_groups(key, frozenset(concept_phrases.get(key, ())))
        if not singles and not multis:
            return (place(key, len(places)),), ()
        return (
            tuple([place(w, len(places)) for w in singles]),
            tuple([tuple([place(w, len(places)) for w in p]) for p in multis]),
        )

    title_set = set(title_terms)
    lead_set = set(lead_terms)
    term_counts = Counter(terms)
    useless = _USELESS
    counts: dict[str, float] = {
        t: n for t, n in term_counts.items() if t not in useless and (len(t) > 1 or t.isdigit())
    }
    for t in title_terms:
        if t not in useless and (len(t) > 1 or t.isdigit()):
            counts[t] = counts.get(t, 0) + _TITLE_COUNT
    recalled = Counter(background)
    for t, n in recalled.items():
        if t in counts:
            counts[t] -= n * (1.0 - _BACKGROUND_WEIGHT)

    # A term that only ever occurs as a name is represented by its name key alone, which also matches its
    # other case forms and spellings; keeping both would spend two of the k places on one word.
    name_tf = Counter(t for t, _ in names)
    title_tf = Counter(title_terms) if name_tf else {}
    keyed = {t for t, word in names if name_key(word)}
    name_only = {
        t for t, c in name_tf.items() if t in keyed and c >= term_counts.get(t, 0) + title_tf.get(t, 0)
    }
    entries: list[Entry] = []
    tf_weight = _tf_weight
    for t, tf in counts.items():
        if t in name_only:
            continue
        # The multipliers as shared tuples (most keys have none or the same few): fewer objects to pickle.
        mults: tuple[float, ...] = ()
        if t.isdigit():
            mults = _SMALL_NUMBER if len(t) == 1 else _YEAR if _YEAR_RE.match(t) else _NUMBER
        if t in name_tf:
            mults += _NAME
        if t in title_set:
            mults += _TITLE
        if t in lead_set:
            mults += _LEAD
        if t.startswith(CONCEPT_PREFIX):
            singles, multis = concept_groups(t)
            entries.append((t, tf_weight(tf), mults, singles, multis))
        else:
            entries.append((t, tf_weight(tf), mults, (place(t, len(places)),), ()))

    # Name keys inherit the rarity of the terms they come from; an English term is rare in a mostly
    # Russian corpus, so its Cyrillic spelling's frequency counts too (alatau is as common as алатау).
    name_counts: Counter[str] = Counter()
    name_terms: dict[str, dict[str, None]] = defaultdict(dict)
    name_extra: dict[str, float] = {}
    for t, word in names:
        # The written word, not the stem, gives the key: stems of Kazakh names can lose a syllable (Ақорда).
        key = name_key(word)
        if not key or t in STOP_WORDS:
            continue
        name_counts[key] += 1
        extra = (_TITLE_BOOST if t in title_set else 1.0) * (_LEAD_BOOST if t in lead_set else 1.0)
        name_extra[key] = max(name_extra.get(key, 1.0), extra)
        name_terms[key][t] = None
        if is_latin(t):
            name_terms[key][to_cyrillic(t)] = None
    for key, tf in name_counts.items():
        singles = tuple(place(t, len(places)) for t in name_terms[key])
        entries.append((key, 1.0 + math.log(tf), (_NAME_BOOST, name_extra.get(key, 1.0)), singles, ()))

    for key, n in Counter(dates).items():
        entries.append((key, tf_weight(n - recalled[key] * (1.0 - _BACKGROUND_WEIGHT)), (), None, ()))
    return Basis(tuple(places), tuple(map(_script, places)), tuple(entries))


# `basis`'s multipliers, shared (see there).
_SMALL_NUMBER, _YEAR, _NUMBER = (_SMALL_NUMBER_BOOST,), (1.0,), (_NUMBER_BOOST,)
_NAME, _TITLE, _LEAD = (_NAME_BOOST,), (_TITLE_BOOST,), (_LEAD_BOOST,)


@lru_cache(maxsize=4096)
def _concept_groups(key: str, phrases: frozenset[str]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The single terms and the phrases whose document frequencies bound a concept key's, given the phrases
    of it that a document has (see `basis`)."""
    singles, multis = _concept_phrases(key[len(CONCEPT_PREFIX) :])
    own = [p.split() for p in phrases]
    if own:
        singles = singles | {p[0] for p in own if len(p) == 1}
        multis = multis | {tuple(p) for p in own if len(p) > 1}
    return tuple(singles), tuple(multis)


def weigh(b: Basis, df: Callable[[str], int], n_docs: int, k: int = 40) -> dict[str, float]:
    """The fingerprint of a document of `basis` `b`, given the corpus statistics (see `fingerprint`)."""
    # A word is rare or common among the texts of its own language: in a mostly Russian corpus every Kazakh
    # word looks rare, and two Kazakh texts on different events would meet on «мемлекет» and «қала». Each
    # language's number of texts is read off its commonest words, which every text of it has.
    n_lang = {
        lang: min(n_docs, max(_MIN_LANGUAGE_DOCS, *map(df, probes)))
        for lang, probes in _LANGUAGE_PROBES.items()
    }
    # This runs for every ingested text in the writing process: locals and C-level iteration, not clarity.
    log = math.log
    floor, hapax = _IDF_FLOOR, _HAPAX_FACTOR
    # A word no other document has cannot link this one to anything yet; at full weight such words (typos,
    # rare words, a paraphrase of one outlet) crowd the shared ones out of the top k. (`* 1.0` is exact.)
    idfs = [
        ((v if (v := log((n + 1) / (d + 1))) > 0.0 else 0.0) + floor) * (hapax if d <= 1 else 1.0)
        for d, n in zip(map(df, b.terms), map(n_lang.get, b.scripts, repeat(n_docs)), strict=True)
    ]

    date_idf = _DATE_IDF_SHARE * log(n_docs + 2) + floor
    weights: list[tuple[float, str]] = []  # (-weight, key): sorted strongest first, ties by key
    add = weights.append
    for key, base, mults, singles, multis in b.entries:
        if singles is None:
            value = date_idf
        elif multis or len(singles) != 1:
            value = min([idfs[i] for i in singles] + [max([idfs[i] for i in g]) for g in multis])
        else:
            value = idfs[singles[0]]
        w = base * value
        for m in mults:
            w *= m
        if w > 0:
            add((-w, key))

    top = sorted(weights)[:k]  # faster than heapq.nsmallest at these sizes, same order
    norm = math.sqrt(sum([w * w for w, _ in top]))
    if not norm:
        return {}
    return {key: round(-w / norm, 6) for w, key in top}


@lru_cache(maxsize=1024)
def _concept_words(concept: str) -> frozenset[str]:
    return frozenset(lexicon.concept_words(concept))


@lru_cache(maxsize=1024)
def _concept_phrases(concept: str) -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """The concept's one-word forms, and its phrases as their words."""
    split = [p.split() for p in _concept_words(concept)]
    return frozenset(p[0] for p in split if len(p) == 1), frozenset(tuple(p) for p in split if len(p) > 1)


def fingerprint_of(f: DocFeatures, df: Callable[[str], int], n_docs: int, k: int = 40) -> dict[str, float]:
    """`fingerprint` of a document's features (see there for `df` and `n_docs`)."""
    return weigh(basis_of(f), df, n_docs, k)


def basis_of(f: DocFeatures) -> Basis:
    """`basis` of a document's features."""
    return basis(
        f.story_terms,
        f.story_title_terms,
        names=f.names,
        dates=f.dates,
        lead_terms=f.lead_terms,
        concept_terms=f.concept_terms,
        background=f.background,
    )


def fingerprint_text(
    text: str, title: str | None, *, morph: Morphology, df: Callable[[str], int], n_docs: int, k: int = 40
) -> dict[str, float]:
    return fingerprint_of(features(text, title, morph), df, n_docs, k)


@lru_cache(maxsize=1024, typed=True)
def _tf_weight(tf: float) -> float:
    # Sublinear in the count; a single occurrence in a recalled passage (a fraction) counts that fraction.
    return 1.0 + math.log(tf) if tf >= 1.0 else max(tf, 0.0)


@lru_cache(maxsize=65536)
def _script(term: str) -> str:
    if _KAZAKH_RE.search(term):
        return "kk"
    if _CYRILLIC_RE.search(term):
        return "ru"
    return "en" if _LATIN_RE.search(term) else ""


# Never a fingerprint key, nor is a one-letter term that is not a number (see `basis`).
_USELESS = STOP_WORDS | _REPORTING_TERMS


_SHARED_PREFIXES = (NAME_PREFIX, DATE_PREFIX, CONCEPT_PREFIX)


def is_shared_key(key: str) -> bool:
    """Keys that mean the same in every language: numbers, names, dates, concepts of the lexicon."""
    return key.isdigit() or key.startswith(_SHARED_PREFIXES)


def story_keys(fp: Mapping[str, float], n: int) -> list[str]:
    """The `n` keys a document is found by when later reports look for their story: the strongest, with the
    language-independent ones counted double so that a report in another language, whose strongest words
    are of its own language, still shares some of them."""
    boost, prefixes = _SHARED_LOOKUP_BOOST, _SHARED_PREFIXES  # `is_shared_key`, inlined
    order = sorted(
        [(-w * (boost if k.isdigit() or k.startswith(prefixes) else 1.0), k) for k, w in fp.items()]
    )
    return [k for _, k in order[:n]]


def similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two fingerprints."""
    return _cosine(a, _norm(a.values()), b, _norm(b.values()))


def _cosine(a: Mapping[str, float], na: float, b: Mapping[str, float], nb: float) -> float:
    """`similarity` of fingerprints of norms `na` and `nb`."""
    if not (na and nb):
        return 0.0
    # Walks the smaller dict in its own order: a float sum depends on the order, and scores must not change.
    if len(a) > len(b):
        a, b = b, a
    return sum([w * b[key] for key, w in a.items() if key in b]) / (na * nb)


def shared_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of the language-independent parts of two fingerprints, for documents in different languages.

    Thin evidence is damped: fewer than three common keys count as none, and when those parts are a small
    share of the fingerprints (a year and «Alatau» in each) their cosine is divided by a floor rather than
    by their own small norms, which would make any two such parts look parallel.
    """
    return _Scorer(a).shared_cosine(b)


def _shared_part(fp: Mapping[str, float]) -> dict[str, float]:
    prefixes = _SHARED_PREFIXES  # `is_shared_key`, inlined
    return {k: w for k, w in fp.items() if k.isdigit() or k.startswith(prefixes)}


def _norm(values: Iterable[float]) -> float:
    return math.sqrt(sum([w * w for w in values]))


class _Scorer:
    """Similarities of one fingerprint to many others (see `assign`): its norms and its shared part are
    computed once, when first needed."""

    __slots__ = ("_norm", "_shared", "_shared_norm", "fp")

    def __init__(self, fp: Mapping[str, float]) -> None:
        self.fp = fp
        self._norm: float | None = None
        self._shared: dict[str, float] | None = None
        self._shared_norm: float | None = None

    def norm(self) -> float:
        if self._norm is None:
            self._norm = _norm(self.fp.values())
        return self._norm

    def match_score(self, lang: str, c: StoryCandidate) -> float:
        """`match_score` of a document of language `lang` and this fingerprint with `c`."""
        b = c.fingerprint
        if c.lang == lang:
            return _cosine(self.fp, self.norm(), b, _norm(b.values()))
        return self.shared_cosine(b)

    def shared_cosine(self, b: Mapping[str, float]) -> float:
        """`shared_similarity` of this fingerprint with `b`."""
        sa = self._shared
        if sa is None:
            sa = self._shared = _shared_part(self.fp)
        sb = _shared_part(b)
        # The sum runs in the order of this set, which depends on the order of the operands: `sa` first.
        common = sa.keys() & sb.keys()
        if len(common) < _MIN_SHARED_KEYS:
            return 0.0
        dot = sum([sa[k] * sb[k] for k in common])
        if self._shared_norm is None:
            self._shared_norm = _norm(sa.values())
        return dot / max(
            self._shared_norm * _norm(sb.values()), _SHARED_NORM_FLOOR * self.norm() * _norm(b.values())
        )


def match_score(a: StoryCandidate, b: StoryCandidate) -> float:
    if a.lang == b.lang:
        return similarity(a.fingerprint, b.fingerprint)
    return shared_similarity(a.fingerprint, b.fingerprint)


def required_score(a: StoryCandidate, b: StoryCandidate) -> float:
    """The similarity two documents need to be one story, given their languages and dates."""
    gap = abs((a.published - b.published).days) if a.published and b.published else UNKNOWN_GAP_DAYS
    return _interpolate(SAME_LANG_THRESHOLDS if a.lang == b.lang else CROSS_LANG_THRESHOLDS, gap)


def _gap(new: StoryCandidate, c: StoryCandidate, story_dates: Mapping[int, Sequence[date]]) -> int:
    if new.published is None:
        return UNKNOWN_GAP_DAYS
    if c.published is not None:
        return abs((new.published - c.published).days)
    days = story_dates.get(c.story_id) if c.story_id is not None else None
    if not days:
        return UNKNOWN_GAP_DAYS
    return min(abs((new.published - d).days) for d in days)


def _required(a: StoryCandidate, b: StoryCandidate, gap: int) -> float:
    return _interpolate(SAME_LANG_THRESHOLDS if a.lang == b.lang else CROSS_LANG_THRESHOLDS, gap)


def _interpolate(points: Sequence[tuple[int, float]], x: int) -> float:
    prev_x, prev_y = points[0]
    if x <= prev_x:
        return prev_y
    for px, py in points[1:]:
        if x <= px:
            return prev_y + (py - prev_y) * (x - prev_x) / (px - prev_x)
        prev_x, prev_y = px, py
    return prev_y


def same_story(a: StoryCandidate, b: StoryCandidate) -> bool:
    return match_score(a, b) >= required_score(a, b)


def stories_to_date(new: StoryCandidate, candidates: Sequence[StoryCandidate]) -> set[int]:
    """Stories of undated candidates similar enough to `new` that their dates could decide (see `assign`):
    the only ones whose reports' dates are worth looking up."""
    scorer = _Scorer(new.fingerprint)
    return {
        c.story_id
        for c in candidates
        if c.published is None
        and c.story_id is not None
        and c.doc_id != new.doc_id
        and scorer.match_score(new.lang, c)
        >= (SAME_LANG_THRESHOLDS if c.lang == new.lang else CROSS_LANG_THRESHOLDS)[0][1]
    }


def assign(
    new: StoryCandidate,
    candidates: Sequence[StoryCandidate],
    story_dates: Mapping[int, Sequence[date]] | None = None,
) -> int | None:
    """The story of the most similar candidate that is the same story as `new`; None: a new story.

    Ties go to the lower story id (the older story, when storage numbers stories as they come).
    `story_dates`: publication dates of the stories of undated candidates, as far as known besides the
    candidates' own.
    """
    scorer = _Scorer(new.fingerprint)
    # Most candidates score below every threshold (which interpolation cannot undercut but for its rounding):
    # their distance in time is not worth working out.
    least_same = min(y for _, y in SAME_LANG_THRESHOLDS) - 1e-9
    least_cross = min(y for _, y in CROSS_LANG_THRESHOLDS) - 1e-9
    dates: dict[int, list[date]] | None = None
    story_gaps: dict[int, int] = {}  # an undated candidate's gap is its story's: worked out once per story
    best: tuple[float, int] | None = None
    for c in candidates:
        story = c.story_id
        if story is None or c.doc_id == new.doc_id:
            continue
        score = scorer.match_score(new.lang, c)
        if score < (least_same if c.lang == new.lang else least_cross):
            continue
        if c.published is not None or new.published is None:
            gap = _gap(new, c, {})  # no story's dates needed
        elif story in story_gaps:
            gap = story_gaps[story]
        else:
            if dates is None:
                dates = _known_dates(candidates, story_dates)
            gap = story_gaps[story] = _gap(new, c, dates)
        if score < _required(new, c, gap):
            continue
        if best is None or score > best[0] or (score == best[0] and story < best[1]):
            best = (score, story)
    return best[1] if best else None


def _known_dates(
    candidates: Sequence[StoryCandidate], story_dates: Mapping[int, Sequence[date]] | None
) -> dict[int, list[date]]:
    # An undated report is as old as its story. Without that, a report of last month's meeting that carries
    # no date would pull this month's meeting into its story.
    dates: dict[int, list[date]] = defaultdict(list)
    for story, days in (story_dates or {}).items():
        dates[story].extend(days)
    for c in candidates:
        if c.story_id is not None and c.published is not None:
            dates[c.story_id].append(c.published)
    return dates


def _order_key(c: StoryCandidate) -> tuple[int, int]:
    return ((c.published or date.min).toordinal(), c.doc_id)


def group(cands: Sequence[StoryCandidate]) -> list[list[int]]:
    """Doc ids grouped into stories, as `assign` would build them over the documents in date order.

    The order of `cands` does not matter: they are sorted by (published, doc_id) first, and each one joins
    the story `assign` picks among those placed before it. Only documents that can reach a threshold are
    handed to `assign`: they are found through an inverted index of fingerprint keys, so a corpus is not
    compared pair by pair.
    """
    ordered = sorted(cands, key=_order_key)
    cut = min(t for _, t in (*SAME_LANG_THRESHOLDS, *CROSS_LANG_THRESHOLDS)) - _ROUNDING_MARGIN
    postings: dict[str, list[int]] = defaultdict(list)
    max_weight: dict[str, float] = defaultdict(float)
    placed: list[StoryCandidate] = []  # with story_id set to the index of their group
    norms: list[tuple[float, float]] = []  # (whole, language-independent part) of each placed fingerprint
    groups: list[list[int]] = []
    group_dates: dict[int, list[date]] = defaultdict(list)  # publication dates of each group's reports
    for c in ordered:
        fp = c.fingerprint
        norm = _norm(fp.values())
        shared_norm = _norm(w for k, w in fp.items() if is_shared_key(k))
        full: dict[int, float] = defaultdict(float)
        shared: dict[int, float] = defaultdict(float)
        slack_full = slack_shared = 0.0
        frequent: list[str] = []
        for key, w in fp.items():
            is_shared = is_shared_key(key)
            docs = postings.get(key, ())
            if len(docs) > _FREQUENT_POSTINGS:
                frequent.append(key)
                slack_full += w * max_weight[key]
                if is_shared:
                    slack_shared += w * max_weight[key]
                continue
            for j in docs:
                product = w * placed[j].fingerprint[key]
                full[j] += product
                if is_shared:
                    shared[j] += product
        # Upper bound of the score of a document met through frequent keys only (norms are about 1).
        if norm and max(slack_full, slack_shared / _SHARED_NORM_FLOOR) / norm >= cut:
            for key in frequent:  # the bound is not small enough: walk those keys too
                w = fp[key]
                for j in postings[key]:
                    product = w * placed[j].fingerprint[key]
                    full[j] += product
                    if is_shared_key(key):
                        shared[j] += product
            slack_full = slack_shared = 0.0
        near = []
        for j, dot in full.items():
            other = placed[j]
            nj, sj = norms[j]
            if not (norm and nj):
                continue
            if other.lang == c.lang:
                bound = (dot + slack_full) / (norm * nj)
            else:
                bound = (shared[j] + slack_shared) / max(shared_norm * sj, _SHARED_NORM_FLOOR * norm * nj)
            if bound >= cut:
                near.append(other)
        undated = {o.story_id for o in near if o.published is None and o.story_id is not None}
        story = assign(c, near, {g: group_dates[g] for g in undated})
        if story is None:
            story = len(groups)
            groups.append([])
        groups[story].append(c.doc_id)
        if c.published is not None:
            group_dates[story].append(c.published)
        index = len(placed)
        placed.append(replace(c, story_id=story))
        norms.append((norm, shared_norm))
        for key, w in fp.items():
            postings[key].append(index)
            max_weight[key] = max(max_weight[key], w)
    return groups
