"""What story matching reads from a text (see `bot.text.stories`): its index terms with the phrases of the
domain lexicon replaced by language-neutral concepts, its proper names, the dates it mentions, its lead and
the passages where it only recalls earlier events.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from bot.text import lexicon
from bot.text.morph import Morphology, iter_tokens
from bot.text.normalize import quick_sentences as split_sentences

DATE_PREFIX = "@"
CONCEPT_PREFIX = "="
_LEAD_SENTENCES = 2

_BACKGROUND_OPENERS = (
    "напомним", "напомню", "напоминаем", "ранее", "как сообщалось", "как писал", "как мы писали",
    "еске салайық", "еске салсақ", "еске сала кетейік", "бұған дейін", "айта кетейік",
    "recall", "earlier", "previously", "as reported", "it will be recalled",
)  # fmt: skip

_MONTHS: tuple[tuple[str, int], ...] = (
    ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("мая", 5), ("май", 5), ("июн", 6), ("июл", 7),
    ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12),
    ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6), ("july", 7),
    ("august", 8), ("september", 9), ("october", 10), ("november", 11), ("december", 12),
    ("қаңтар", 1), ("ақпан", 2), ("наурыз", 3), ("сәуір", 4), ("мамыр", 5), ("маусым", 6), ("шілде", 7),
    ("тамыз", 8), ("қыркүйек", 9), ("қазан", 10), ("қараша", 11), ("желтоқсан", 12),
)  # fmt: skip


@dataclass(frozen=True)
class DocFeatures:
    """What `fingerprint` needs from a document; `features` computes it from the text."""

    terms: tuple[str, ...]  # index terms of the body, one per token
    title_terms: tuple[str, ...]
    lead_terms: tuple[str, ...]  # terms of the first sentences, where news tell the event itself
    # (index term, word as written) of the tokens that look like proper names, one per occurrence
    names: tuple[tuple[str, str], ...]
    dates: tuple[str, ...]  # date keys (@9-5), one per mention
    # distinct surface words (letters only, 3+ long): the vocabulary offered as spelling corrections
    words: tuple[str, ...] = ()
    # What the fingerprint counts: the terms with each phrase of the domain lexicon replaced by its concept
    # key (=decree for «указом», «жарлығымен», "decree"), so that reports in other languages share it.
    story_terms: tuple[str, ...] = ()
    story_title_terms: tuple[str, ...] = ()
    # story terms and date keys said in passages that recall earlier events, one per occurrence: they count less
    background: tuple[str, ...] = ()
    # (concept key, index terms of a phrase it replaced, space-separated): how common the concept is, in the
    # words the corpus counts
    concept_terms: tuple[tuple[str, str], ...] = ()


def features(text: str, title: str | None, morph: Morphology) -> DocFeatures:
    tokens = list(iter_tokens(text))
    # morph.token_term without its call per token (a text has hundreds)
    term, name_term = morph.term, morph.name_term
    terms = [name_term(tok) if cap else term(tok) for _, _, tok, cap in tokens]
    title_tokens = list(iter_tokens(title)) if title else []
    title_terms = [name_term(tok) if cap else term(tok) for _, _, tok, cap in title_tokens]

    # Every sentence starts with a capital letter, so a capitalized first word is a name only if the same
    # term is capitalized somewhere else too (Токаев…, not Согласно…).
    sents = split_sentences(text)
    si = sorted(start for start, _, _ in sents)
    lead_end = sents[_LEAD_SENTENCES - 1][1] if len(sents) >= _LEAD_SENTENCES else len(text)
    first_token = set()
    k = 0
    for idx, (start, _, _, _) in enumerate(tokens):
        while k < len(si) and si[k] <= start:
            first_token.add(idx)
            k += 1
    inner = {terms[i] for i, t in enumerate(tokens) if t[3] and i not in first_token and not _month(t[2])}
    words = [t[2] for t in tokens]
    story_terms, body_concepts, in_lexicon = _with_concepts(words, terms)
    story_title_terms, title_concepts, title_in_lexicon = _with_concepts(
        [t[2] for t in title_tokens], title_terms
    )
    dates = _date_keys(words)
    background = _background(text, sents)
    bg_tokens = (
        {i for i, t in enumerate(tokens) if any(a <= t[0] < b for a, b in background)}
        if background
        else set()
    )
    # A name the lexicon knows is its concept; only the others need a transliterated key.
    names = [
        (terms[i], t[2]) for i, t in enumerate(tokens) if t[3] and terms[i] in inner and i not in in_lexicon
    ]
    # English headlines capitalize every word, so only words known as names from the body count there.
    caps = [cap for _, _, tok, cap in title_tokens if len(tok) > 3]
    title_case = bool(caps) and sum(caps) / len(caps) >= 0.5
    names += [
        (title_terms[i], t[2])
        for i, t in enumerate(title_tokens)
        if t[3]
        and i not in title_in_lexicon
        and (title_terms[i] in inner or (not title_case and i > 0 and not _month(t[2])))
    ]
    # Tokens come in text order: the lead is the ones before its end.
    lead = terms[: bisect_left(tokens, lead_end, key=itemgetter(0))]
    lead += [key for start, key, _ in body_concepts if tokens[start][0] < lead_end]

    return DocFeatures(
        terms=tuple(terms),
        title_terms=tuple(title_terms),
        lead_terms=tuple(lead),
        names=tuple(names),
        dates=tuple(key for _, key in dates),
        words=tuple(sorted({w for _, _, w, _ in (*tokens, *title_tokens) if len(w) >= 3 and w.isalpha()})),
        story_terms=tuple(t for _, t in story_terms),
        story_title_terms=tuple(t for _, t in story_title_terms),
        background=tuple(t for i, t in (*story_terms, *dates) if i in bg_tokens) if bg_tokens else (),
        concept_terms=tuple(sorted({(k, " ".join(ts)) for _, k, ts in (*body_concepts, *title_concepts)})),
    )


def _with_concepts(
    words: Sequence[str], terms: Sequence[str]
) -> tuple[list[tuple[int, str]], list[tuple[int, str, tuple[str, ...]]], set[int]]:
    """The terms with each lexicon phrase replaced by its concept key, as (position, term); the phrases as
    (first token, key, terms replaced); the positions of the tokens replaced."""
    out: list[tuple[int, str]] = []
    found: list[tuple[int, str, tuple[str, ...]]] = []
    covered: set[int] = set()
    last = 0
    for start, end, concept in lexicon.find(words, terms):
        key = CONCEPT_PREFIX + concept
        out.extend(zip(range(last, start), terms[last:start], strict=True))
        out.append((start, key))
        found.append((start, key, tuple(terms[start:end])))
        covered.update(range(start, end))
        last = end
    out.extend(zip(range(last, len(terms)), terms[last:], strict=True))
    return out, found, covered


def _background(text: str, sents: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Character spans that recall earlier events («Напомним, …», «Еске салайық, …», "Earlier, …") to the end
    of their paragraph: they tie a follow-up to the story it follows, not to its own event."""
    spans = []
    for start, _, sentence in sents:
        head = sentence.lstrip(' \t\n«"—–-').lower()
        if head.startswith(_BACKGROUND_OPENERS):
            end = text.find("\n", start + len(sentence) - len(sentence.lstrip()))
            spans.append((start, len(text) if end < 0 else end))
    return spans


def _date_keys(tokens: Sequence[str]) -> list[tuple[int, str]]:
    """(position, @month-day) for "5 сентября", "September 5", "5 қыркүйекте"."""
    keys: list[tuple[int, str]] = []
    # A date needs a day number beside the month: looking only next to numbers keeps this cheap.
    for i, tok in enumerate(tokens):
        if not tok.isdigit() or not 1 <= int(tok) <= 31:
            continue
        for j in (i + 1, i - 1):
            if 0 <= j < len(tokens) and (month := _month(tokens[j])):
                keys.append((i, f"{DATE_PREFIX}{month}-{int(tok)}"))
                break
    return keys


@lru_cache(maxsize=4096)
def _month(token: str) -> int:
    for prefix, month in _MONTHS:
        # A case ending at most (сентября, қыркүйекте), not a longer word (Майлыбаев).
        if token.startswith(prefix) and len(token) - len(prefix) <= 3:
            return month
    return 0
