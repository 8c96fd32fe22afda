"""What story matching reads from a text (see `bot.text.stories`): its index terms with the phrases of the
domain lexicon replaced by language-neutral concepts, its proper names, the dates it mentions, its lead and
the passages where it only recalls earlier events.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress
from operator import itemgetter
from typing import NamedTuple, cast
from weakref import WeakKeyDictionary

from bot.text import lexicon
from bot.text.morph import TOKEN_RE, Morphology
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
    # each token folded (lower case, ё→е), in order: the words `dedup.content_hash` joins
    tokens: tuple[str, ...] = ()


class _Token(NamedTuple):
    """What a token as written gives, computed once per distinct spelling (news texts repeat their words)."""

    word: str  # folded, as `iter_tokens` yields it
    term: str  # its index term
    flags: int  # _CAPITALIZED | _DIGITS | _STARTS: the tokens that need a closer look are few
    starting: lexicon.Starting  # the lexicon's patterns that may start here
    vocabulary: str | None  # the word, if it is one to offer as a spelling correction (letters only, 3+)
    month: int  # the month it names, or 0
    long: bool  # longer than 3 letters


_CAPITALIZED, _DIGITS, _STARTS = 1, 2, 4
# Spellings remembered per morphology (each worker process has one); dropped wholesale when this many.
_TOKEN_CACHE = 100_000
_token_caches: WeakKeyDictionary[Morphology, dict[str, _Token]] = WeakKeyDictionary()
_word, _term, _flags, _vocabulary = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(4)
_key, _replaced = itemgetter(1), itemgetter(2)
_start, _end = itemgetter(0), itemgetter(1)
# Tokens as `TOKEN_RE` ([^\W_]+) finds them; \w+ finds the same ones in a text without "_", a little faster.
_WORD_RE = re.compile(r"\w+")


def _token(cache: dict[str, _Token], morph: Morphology, raw: str) -> _Token:
    low = raw.lower()
    word = low.replace("ё", "е") if "ё" in low else low  # as `iter_tokens` folds it
    cap = raw[0].isupper() and raw != low.upper()
    term = morph.name_term(word) if cap else morph.term(word)
    starting = lexicon.starting(word, term)
    digits = word.isdigit()
    found = cache[raw] = _Token(
        word,
        term,
        cap * _CAPITALIZED | digits * _DIGITS | bool(starting) * _STARTS,
        starting,
        word if len(word) >= 3 and word.isalpha() else None,
        _month(word),
        len(word) > 3,
    )
    return found


def _findall(text: str) -> Callable[..., list[str]]:
    return (TOKEN_RE if "_" in text else _WORD_RE).findall


def _columns(toks: list[_Token]) -> tuple[tuple[str, ...], tuple[str, ...], list[int], set[str | None]]:
    """Words, terms, the places of the few tokens that need a closer look (flags set), and the vocabulary
    words (with None). Not by zip(*toks): its iterator per token wakes the garbage collector more often."""
    return (
        tuple(map(_word, toks)),
        tuple(map(_term, toks)),
        list(compress(range(len(toks)), map(_flags, toks))),
        set(map(_vocabulary, toks)),
    )


def _tokens(raw: Sequence[str], morph: Morphology) -> list[_Token]:
    cache = _token_caches.get(morph)
    if cache is None or len(cache) > _TOKEN_CACHE:
        cache = _token_caches[morph] = {}
    if len(raw) < 2:
        return [cache.get(w) or _token(cache, morph, w) for w in raw]
    lookup = itemgetter(*raw)  # every token in one C call (a text of hundreds mostly repeats known ones)
    try:
        return list(lookup(cache))
    except KeyError:
        for w in set(raw).difference(cache):
            _token(cache, morph, w)
        return list(lookup(cache))


def features(text: str, title: str | None, morph: Morphology) -> DocFeatures:
    # Tokens sentence by sentence, so that each sentence's first token is known by its place: sentences
    # are separated by spaces and punctuation only, which no token spans.
    sents = split_sentences(text)
    findall = _findall(text)
    raw: list[str] = []
    firsts: list[int] = []  # the place of each sentence's first token (the next one's, if it has none)
    for start, end, _ in sents:
        firsts.append(len(raw))
        raw += findall(text, start, end)
    n = len(raw)
    toks = _tokens(raw, morph)
    words, terms, marked, vocabulary = _columns(toks)
    ttoks = _tokens(_findall(title)(title), morph) if title else []
    title_words, title_terms, _, title_vocabulary = _columns(ttoks)

    # Every sentence starts with a capital letter, so a capitalized first word is a name only if the same
    # term is capitalized somewhere else too (Токаев…, not Согласно…).
    first_token = {i for i in firsts if i < n}
    capitalized = [i for i in marked if toks[i].flags & _CAPITALIZED]
    inner = {terms[i] for i in capitalized if i not in first_token and not toks[i].month}
    story_terms, body_concepts, in_lexicon = _with_concepts(
        words, terms, [i for i in marked if toks[i].flags & _STARTS], toks
    )
    story_title_terms, title_concepts, title_in_lexicon = _with_concepts(
        title_words, title_terms, [i for i, t in enumerate(ttoks) if t.starting], ttoks
    )
    dates = _date_keys(words, [i for i in marked if toks[i].flags & _DIGITS])
    bg_tokens: set[int] = set()
    if spans := _background(text, sents):
        # A span ends at a line break, which no sentence holds: its tokens are those of the sentences in it.
        starts = [start for start, _, _ in sents]
        for j, (_, end) in spans:
            after = bisect_left(starts, end, j + 1)
            bg_tokens.update(range(firsts[j], firsts[after] if after < len(firsts) else n))
    # A name the lexicon knows is its concept; only the others need a transliterated key.
    names = [(terms[i], words[i]) for i in capitalized if terms[i] in inner and i not in in_lexicon]
    # English headlines capitalize every word, so only words known as names from the body count there.
    caps = [t.flags & _CAPITALIZED for t in ttoks if t.long]
    title_case = bool(caps) and sum(map(bool, caps)) / len(caps) >= 0.5
    names += [
        (title_terms[i], t.word)
        for i, t in enumerate(ttoks)
        if t.flags & _CAPITALIZED
        and i not in title_in_lexicon
        and (title_terms[i] in inner or (not title_case and i > 0 and not t.month))
    ]
    # The lead: the tokens of the first sentences.
    lead_count = firsts[_LEAD_SENTENCES] if len(firsts) > _LEAD_SENTENCES else n
    lead = [*terms[:lead_count], *(key for start, key, _ in body_concepts if start < lead_count)]

    concepts = (*body_concepts, *title_concepts)
    background: tuple[str, ...] = ()
    if bg_tokens:
        placed = _placed(n, body_concepts, in_lexicon)
        background = tuple(t for i, t in (*zip(placed, story_terms, strict=True), *dates) if i in bg_tokens)
    vocabulary |= title_vocabulary
    vocabulary.discard(None)
    return DocFeatures(
        terms=terms,
        title_terms=title_terms,
        lead_terms=tuple(lead),
        names=tuple(names),
        dates=tuple(key for _, key in dates),
        words=tuple(sorted(cast(set[str], vocabulary))),
        story_terms=tuple(story_terms),
        story_title_terms=tuple(story_title_terms),
        background=background,
        concept_terms=tuple(
            sorted(set(zip(map(_key, concepts), map(" ".join, map(_replaced, concepts)), strict=True)))
        ),
        tokens=words,
    )


def _with_concepts(
    words: Sequence[str], terms: Sequence[str], starts: Sequence[int], toks: Sequence[_Token]
) -> tuple[list[str], list[tuple[int, str, tuple[str, ...]]], set[int]]:
    """The terms with each lexicon phrase replaced by its concept key; the phrases as (first token, key,
    terms replaced); the positions of the tokens replaced. `starts`: where a phrase may start."""
    spans = lexicon.find_from(words, terms, starts, [toks[i].starting for i in starts])
    if not spans:
        return list(terms), [], set()
    # A text of the domain has a phrase every few tokens: these run in C rather than once per phrase.
    firsts, ends = list(map(_start, spans)), list(map(_end, spans))
    keys = [CONCEPT_PREFIX + concept for _, _, concept in spans]
    found = list(zip(firsts, keys, map(tuple, map(terms.__getitem__, map(slice, firsts, ends))), strict=True))
    covered = set(chain.from_iterable(map(range, firsts, ends)))
    # Each phrase's first token becomes its key; its other tokens, in longer phrases, go.
    first_key = dict(zip(firsts, keys, strict=True))
    out = list(map(first_key.get, range(len(terms)), terms))
    if len(covered) > len(spans):
        out = [out[i] for i in _placed(len(terms), found, covered)]
    return out, found, covered


def _placed(n: int, concepts: Sequence[tuple[int, str, tuple[str, ...]]], covered: set[int]) -> list[int]:
    """The token position of each story term (a concept key's is its phrase's first token)."""
    firsts = {start for start, _, _ in concepts}
    return [i for i in range(n) if i not in covered or i in firsts]


def _background(text: str, sents: Sequence[tuple[int, int, str]]) -> list[tuple[int, tuple[int, int]]]:
    """Character spans that recall earlier events («Напомним, …», «Еске салайық, …», "Earlier, …") to the end
    of their paragraph, with the place of the sentence each starts: they tie a follow-up to the story it
    follows, not to its own event."""
    spans = []
    for j, (start, _, sentence) in enumerate(sents):
        head = sentence.lstrip(' \t\n«"—–-').lower()
        if head.startswith(_BACKGROUND_OPENERS):
            end = text.find("\n", start + len(sentence) - len(sentence.lstrip()))
            spans.append((j, (start, len(text) if end < 0 else end)))
    return spans


def _date_keys(tokens: Sequence[str], numbers: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """(position, @month-day) for "5 сентября", "September 5", "5 қыркүйекте". `numbers`: the positions of
    the tokens that are digits only, when known."""
    keys: list[tuple[int, str]] = []
    # A date needs a day number beside the month: looking only next to numbers keeps this cheap.
    for i in numbers if numbers is not None else (i for i, tok in enumerate(tokens) if tok.isdigit()):
        if not 1 <= int(tokens[i]) <= 31:
            continue
        for j in (i + 1, i - 1):
            if 0 <= j < len(tokens) and (month := _month(tokens[j])):
                keys.append((i, f"{DATE_PREFIX}{month}-{int(tokens[i])}"))
                break
    return keys


@lru_cache(maxsize=4096)
def _month(token: str) -> int:
    for prefix, month in _MONTHS:
        # A case ending at most (сентября, қыркүйекте), not a longer word (Майлыбаев).
        if token.startswith(prefix) and len(token) - len(prefix) <= 3:
            return month
    return 0
