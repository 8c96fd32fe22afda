"""The story math is written for speed (bulk ingest scores every new text against up to a hundred others);
these are its plain versions, as they were before, and the fast code must give exactly their results:
a float sum in another order could move a score across a threshold."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta

import pytest

from bot.text import stories
from bot.text.stories import (
    CROSS_LANG_THRESHOLDS,
    SAME_LANG_THRESHOLDS,
    Basis,
    StoryCandidate,
    assign,
    basis,
    is_shared_key,
    match_score,
    shared_similarity,
    similarity,
    stories_to_date,
    story_keys,
    weigh,
)


def _norm(values: Iterable[float]) -> float:
    return math.sqrt(sum(w * w for w in values))


def plain_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b[key] for key, w in a.items() if key in b)
    na, nb = _norm(a.values()), _norm(b.values())
    return dot / (na * nb) if na and nb else 0.0


def plain_shared_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    sa = {k: w for k, w in a.items() if is_shared_key(k)}
    sb = {k: w for k, w in b.items() if is_shared_key(k)}
    common = sa.keys() & sb.keys()
    if len(common) < stories._MIN_SHARED_KEYS:
        return 0.0
    dot = sum(sa[k] * sb[k] for k in common)
    return dot / max(
        _norm(sa.values()) * _norm(sb.values()),
        stories._SHARED_NORM_FLOOR * _norm(a.values()) * _norm(b.values()),
    )


def plain_match_score(a: StoryCandidate, b: StoryCandidate) -> float:
    if a.lang == b.lang:
        return plain_similarity(a.fingerprint, b.fingerprint)
    return plain_shared_similarity(a.fingerprint, b.fingerprint)


def plain_assign(
    new: StoryCandidate, candidates: Sequence[StoryCandidate], story_dates: Mapping[int, Sequence[date]]
) -> int | None:
    dates: dict[int, list[date]] = defaultdict(list)
    for story, days in story_dates.items():
        dates[story].extend(days)
    for c in candidates:
        if c.story_id is not None and c.published is not None:
            dates[c.story_id].append(c.published)
    best: tuple[float, int] | None = None
    for c in candidates:
        if c.story_id is None or c.doc_id == new.doc_id:
            continue
        score = plain_match_score(new, c)
        if new.published is None:
            gap = stories.UNKNOWN_GAP_DAYS
        elif c.published is not None:
            gap = abs((new.published - c.published).days)
        else:
            known = dates.get(c.story_id)
            gap = min(abs((new.published - d).days) for d in known) if known else stories.UNKNOWN_GAP_DAYS
        if score < stories._interpolate(
            SAME_LANG_THRESHOLDS if c.lang == new.lang else CROSS_LANG_THRESHOLDS, gap
        ):
            continue
        if best is None or score > best[0] or (score == best[0] and c.story_id < best[1]):
            best = (score, c.story_id)
    return best[1] if best else None


def plain_story_keys(fp: Mapping[str, float], n: int) -> list[str]:
    weight = {k: stories._SHARED_LOOKUP_BOOST if is_shared_key(k) else 1.0 for k in fp}
    return [k for k, _ in sorted(fp.items(), key=lambda kv: (-kv[1] * weight[kv[0]], kv[0]))[:n]]


def plain_weigh(b: Basis, df: Callable[[str], int], n_docs: int, k: int = 40) -> dict[str, float]:
    n_lang = {
        lang: min(n_docs, max(stories._MIN_LANGUAGE_DOCS, *(df(w) for w in probes)))
        for lang, probes in stories._LANGUAGE_PROBES.items()
    }
    idfs: list[float] = []
    for term, script in zip(b.terms, b.scripts, strict=True):
        d = df(term)
        value = max(math.log((n_lang.get(script, n_docs) + 1) / (d + 1)), 0.0) + stories._IDF_FLOOR
        idfs.append(value * stories._HAPAX_FACTOR if d <= 1 else value)
    date_idf = stories._DATE_IDF_SHARE * math.log(n_docs + 2) + stories._IDF_FLOOR
    weights: list[tuple[float, str]] = []
    for key, base, mults, singles, multis in b.entries:
        if singles is None:
            value = date_idf
        elif len(singles) == 1 and not multis:
            value = idfs[singles[0]]
        else:
            value = min([idfs[i] for i in singles] + [max([idfs[i] for i in g]) for g in multis])
        w = base * value
        for m in mults:
            w *= m
        if w > 0:
            weights.append((-w, key))
    top = sorted(weights)[:k]
    norm = math.sqrt(sum(w * w for w, _ in top))
    return {key: round(-w / norm, 6) for w, key in top} if norm else {}


WORDS = [f"слово{i}" for i in range(60)] + [f"сөз{i}" for i in range(20)] + [f"word{i}" for i in range(20)]
SHARED = [str(n) for n in (2025, 1047, 5, 87)] + ["~sarse", "~tokai", "@9-5", "=decree", "=council"]


def random_fingerprint(rng: random.Random) -> dict[str, float]:
    keys = rng.sample(WORDS, rng.randint(0, 30)) + rng.sample(SHARED, rng.randint(0, len(SHARED)))
    rng.shuffle(keys)
    weights = [rng.random() for _ in keys]
    norm = math.sqrt(sum(w * w for w in weights)) or 1.0
    return {k: round(w / norm, 6) for k, w in zip(keys, weights, strict=True)}


@pytest.mark.parametrize("seed", range(20))
def test_scores_and_assignment_match_the_plain_code(seed: int) -> None:
    rng = random.Random(seed)
    day = date(2026, 3, 1)
    cands = [
        StoryCandidate(
            i,
            rng.choice([None, *range(8)]),
            rng.choice([None, day + timedelta(days=rng.randint(-40, 40))]),
            rng.choice(["ru", "ru", "kk", "en"]),
            random_fingerprint(rng),
        )
        for i in range(1, 60)
    ]
    story_dates = {
        s: [day + timedelta(days=rng.randint(-60, 60)) for _ in range(rng.randint(0, 3))] for s in range(8)
    }
    for model in cands[:25]:
        new = StoryCandidate(0, 0, rng.choice([None, day]), model.lang, model.fingerprint)
        for c in cands:
            a, b = new.fingerprint, c.fingerprint
            assert repr(similarity(a, b)) == repr(plain_similarity(a, b))
            assert repr(shared_similarity(a, b)) == repr(plain_shared_similarity(a, b))
            assert repr(match_score(new, c)) == repr(plain_match_score(new, c))
        assert assign(new, cands, story_dates) == plain_assign(new, cands, story_dates)
        assert assign(new, cands) == plain_assign(new, cands, {})
        assert stories_to_date(new, cands) == {
            c.story_id
            for c in cands
            if c.published is None
            and c.story_id is not None
            and plain_match_score(new, c)
            >= (SAME_LANG_THRESHOLDS if c.lang == new.lang else CROSS_LANG_THRESHOLDS)[0][1]
        }
        assert story_keys(new.fingerprint, 14) == plain_story_keys(new.fingerprint, 14)


@pytest.mark.parametrize("seed", range(20))
def test_weights_match_the_plain_code(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = [*WORDS, "в", "и", "на", "және", "бұл", "the", "and", "2025", "7", "1047", "=decree"]
    df = Counter({t: rng.randint(0, 300) for t in rng.sample(vocabulary, 60)})
    for _ in range(10):
        terms = rng.choices(vocabulary, k=rng.randint(0, 80))
        b = basis(
            terms,
            rng.sample(terms, min(len(terms), 5)),
            names=[("сарсембаев", "Сарсембаева")] if rng.random() < 0.5 else [],
            dates=rng.choice([[], ["@9-5"], ["@9-5", "@9-5", "@3-1"]]),
            lead_terms=terms[:10],
            background=rng.sample(terms, min(len(terms), 3)),
        )
        n_docs = rng.choice([1, 50, 400, 5000])
        for k in (5, 40):
            assert repr(weigh(b, df.__getitem__, n_docs, k)) == repr(
                plain_weigh(b, df.__getitem__, n_docs, k)
            )
